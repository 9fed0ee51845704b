with

runs as (
    select * from {{ source('ops', 'run_reports') }}
),

files as (
    select * from {{ source('ops', 'run_report_files') }}
),

file_totals as (
    select
        run_id,
        count(*) as files_cleaned,
        cast(sum(rows_read) as bigint) as rows_read,
        cast(sum(rows_written) as bigint) as rows_written,
        cast(sum(rows_deduplicated) as bigint) as rows_deduplicated,
        cast(sum(rows_quarantined) as bigint) as rows_quarantined
    from files
    group by run_id
),

final as (
    select
        runs.run_id,
        runs.started_at,
        runs.finished_at,
        runs.seconds,
        runs.status,
        runs.trigger,
        runs.snapshot_id,
        runs.rebuild,
        coalesce(file_totals.files_cleaned, 0) as files_cleaned,
        coalesce(file_totals.rows_read, 0) as rows_read,
        coalesce(file_totals.rows_written, 0) as rows_written,
        coalesce(file_totals.rows_deduplicated, 0) as rows_deduplicated,
        coalesce(file_totals.rows_quarantined, 0) as rows_quarantined,
        runs.dbt_models_ok,
        runs.dbt_tests_passed,
        runs.dbt_tests_warned,
        runs.dbt_tests_failed,
        runs.failed_task,
        runs.error,
        runs.log_url
    from runs
    left join file_totals on file_totals.run_id = runs.run_id
)

select * from final
