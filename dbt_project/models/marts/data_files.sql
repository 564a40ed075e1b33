-- The file ledger as management and auditors read it: every input file, its sha256,
-- what became of it and the month its data belongs to.
with

files as (
    select * from {{ ref('stg_landing__files') }}
),

dated as (
    select * from {{ ref('int_files_dated') }}
),

final as (
    select
        files.file_id,
        files.path,
        files.source,
        files.preset,
        files.encoding,
        files.status,
        cast(files.rows_total as {{ dbt.type_bigint() }}) as rows_total,
        cast(files.rows_accepted as {{ dbt.type_bigint() }}) as rows_accepted,
        cast(files.rows_rejected as {{ dbt.type_bigint() }}) as rows_rejected,
        files.message,
        dated.latest_event_at,
        {{ local_month('dated.latest_event_at') }} as data_month
    from files
    left join dated
        on files.file_id = dated.file_id
)

select * from final
