select * from {{ source('landing', 'config_stages') }}
