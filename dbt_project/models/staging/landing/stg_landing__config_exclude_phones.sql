-- Excluded numbers by their keyed hash only: raw phones stay in landing.
select client_phone_hash from {{ source('landing', 'config_exclude_phones') }}
