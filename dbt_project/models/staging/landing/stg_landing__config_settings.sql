select * from {{ source('landing', 'config_settings') }}
