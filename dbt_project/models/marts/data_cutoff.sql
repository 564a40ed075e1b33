select
    cutoff_at,
    cutoff_local,
    last_complete_month
from {{ ref('int_data_cutoff') }}
