-- When each loaded file arrived: a corrected re-export (the same snapshot, the same file
-- name) wins over the rows it corrects by arriving later (received_at, then path), never
-- by its hash. The staging models that keep one copy of a repeated row rank by it.
with

files as (
    select * from {{ ref('stg_landing__files') }}
),

final as (
    select
        file_id,
        max(received_at) as received_at,
        max(path) as path
    from files
    where status = 'loaded'
    group by file_id
)

select * from final
