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
        raw,
        reason
    from source
)

select * from final
