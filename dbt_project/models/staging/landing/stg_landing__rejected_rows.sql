-- Rejected records without their raw text (names, phones): that stays in landing, and
-- `voronka check` shows it with phones masked.
with

source as (
    select * from {{ source('landing', 'rejected_rows') }}
),

final as (
    select
        file_id,
        row_number,
        {{ adapter.quote('column') }} as column_name,
        expected,
        reason
    from source
)

select * from final
