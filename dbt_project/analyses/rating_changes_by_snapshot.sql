-- How much of IMDb's rating table changes per snapshot: rows fct_title_ratings added in each
-- snapshot (new titles and changed ratings). `dbt compile --select rating_changes_by_snapshot`.
select
    snapshot_id,
    count(*) as changed_titles
from {{ ref('fct_title_ratings') }}
group by snapshot_id
order by snapshot_id
