with

runs as (
    select * from {{ source('ops', 'run_reports') }}
),

files as (
    select * from {{ source('ops', 'run_report_files') }}
),

final as (
    select
        files.run_id,
        runs.started_at,
        runs.status,
        files.dataset,
        files.file_name,
        files.rows_read,
        files.rows_written,
        files.rows_deduplicated,
        files.rows_quarantined,
        cast(files.rows_quarantined as float8) / nullif(files.rows_read, 0) as quarantine_rate,
        files.rows_per_second
    from files
    inner join runs on runs.run_id = files.run_id
)

select * from final
