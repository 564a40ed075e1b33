-- Every loaded file: rows_total = rows_accepted + rows_rejected, and its rejects are listed.
with

files as (
    select * from {{ ref('data_files') }}
    where status = 'loaded'
),

rejected as (
    select
        file_id,
        count(*) as listed
    from {{ ref('stg_landing__rejected_rows') }}
    group by file_id
)

select files.*
from files
left join rejected
    on files.file_id = rejected.file_id
where
    files.rows_total != files.rows_accepted + files.rows_rejected
    or files.rows_rejected != coalesce(rejected.listed, 0)
