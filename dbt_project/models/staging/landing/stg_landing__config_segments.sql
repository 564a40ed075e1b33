select * from {{ source('landing', 'config_segments') }}
