select * from {{ source('landing', 'config_stage_map') }}
