select * from {{ source('landing', 'config_funnel_lines') }}
