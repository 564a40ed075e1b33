select * from {{ source('landing', 'config_managers') }}
