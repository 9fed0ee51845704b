with

runs as (
    select * from {{ source('ops', 'run_reports') }}
),

files as (
    select * from {{ source('ops', 'run_report_files') }}
),

quarantine as (
    select * from {{ source('ops', 'run_report_quarantine') }}
),

file_days as (
    select
        cast(runs.started_at as date) as day,
        files.dataset,
        max(files.file_name) as file_name,
        count(*) as runs,
        cast(sum(files.rows_read) as bigint) as rows_read,
        cast(sum(files.rows_written) as bigint) as rows_written,
        cast(sum(files.rows_deduplicated) as bigint) as rows_deduplicated,
        cast(sum(files.rows_quarantined) as bigint) as file_rows_quarantined
    from files
    inner join runs on runs.run_id = files.run_id
    group by cast(runs.started_at as date), files.dataset
),

reason_days as (
    select
        cast(runs.started_at as date) as day,
        quarantine.dataset,
        quarantine.reason,
        cast(sum(quarantine.rows) as bigint) as rows_quarantined
    from quarantine
    inner join runs on runs.run_id = quarantine.run_id
    group by cast(runs.started_at as date), quarantine.dataset, quarantine.reason
),

final as (
    select
        file_days.day,
        file_days.dataset,
        file_days.file_name,
        file_days.runs,
        file_days.rows_read,
        file_days.rows_written,
        file_days.rows_deduplicated,
        file_days.file_rows_quarantined,
        cast(file_days.file_rows_quarantined as float8) / nullif(file_days.rows_read, 0) as file_quarantine_rate,
        reason_days.reason,
        coalesce(reason_days.rows_quarantined, 0) as rows_quarantined,
        cast(coalesce(reason_days.rows_quarantined, 0) as float8) / nullif(file_days.rows_read, 0) as quarantine_rate
    from file_days
    left join reason_days
        on reason_days.day = file_days.day
        and reason_days.dataset = file_days.dataset
)

select * from final
