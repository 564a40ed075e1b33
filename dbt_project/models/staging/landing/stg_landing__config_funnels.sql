select * from {{ source('landing', 'config_funnels') }}
