with

runs as (
    select * from {{ source('ops', 'run_reports') }}
),

nodes as (
    select * from {{ source('ops', 'run_report_dbt_nodes') }}
),

tests as (
    select * from nodes
    where resource_type in ('test', 'unit_test')
),

final as (
    select
        tests.run_id,
        runs.started_at,
        runs.status as run_status,
        tests.unique_id,
        tests.name as test_name,
        tests.resource_type as test_type,
        tests.status,
        coalesce(tests.failures, 0) as failures,
        tests.message,
        tests.seconds
    from tests
    inner join runs on runs.run_id = tests.run_id
)

select * from final
