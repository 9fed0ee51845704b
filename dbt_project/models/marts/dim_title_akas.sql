{{ config(dist='tconst', sort=['tconst', 'ordering']) }}

with

akas as (

    select * from {{ ref('stg_imdb__akas') }}

),

joined as (

    {{ imdb_elt.select_joining_arrays(
        'akas',
        key=['tconst', 'ordering'],
        columns=['title', 'region', 'language', 'is_original_title', 'snapshot_id'],
        arrays={'types': ',', 'attributes': ','},
    ) }}

)

select
    tconst,
    ordering,
    title,
    region,
    language,
    types,
    attributes,
    is_original_title,
    snapshot_id

from joined
