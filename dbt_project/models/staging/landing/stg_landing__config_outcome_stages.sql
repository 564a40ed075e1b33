select * from {{ source('landing', 'config_outcome_stages') }}
