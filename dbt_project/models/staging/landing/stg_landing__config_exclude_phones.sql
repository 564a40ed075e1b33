select * from {{ source('landing', 'config_exclude_phones') }}
