with

source as (
    select * from {{ source('landing', 'files') }}
),

final as (
    select
        file_id,
        path,
        source,
        preset,
        encoding,
        delimiter,
        {{ as_utc('received_at') }} as received_at,
        rows_total,
        rows_accepted,
        rows_rejected,
        status,
        message,
        read_with
    from source
)

select * from final
