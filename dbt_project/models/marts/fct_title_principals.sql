{{ config(dist='tconst', sort=['tconst', 'ordering']) }}

with

principals as (

    select * from {{ ref('stg_imdb__principals') }}

),

joined as (

    {{ imdb_elt.select_joining_arrays(
        'principals',
        key=['tconst', 'ordering'],
        columns=['nconst', 'category', 'job', 'snapshot_id'],
        arrays={'characters': '|'},
    ) }}

)

select
    tconst,
    ordering,
    nconst,
    category,
    job,
    characters,
    snapshot_id

from joined
