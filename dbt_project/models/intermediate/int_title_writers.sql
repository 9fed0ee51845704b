-- One row per title and writer in credit order (some titles credit over 1,000 writers).
with

crew as (

    select * from {{ ref('stg_imdb__crew') }}

),

exploded as (

    select
        c.tconst,
        {{ imdb_elt.array_element('w') }} as nconst,
        {{ imdb_elt.array_position('w_pos') }} as writer_position

    from crew as c
    {{ imdb_elt.unnest_array('c', 'writer_nconsts', 'w', 'w_pos') }}

)

select
    tconst,
    nconst,
    min(writer_position) as writer_position

from exploded
where nconst is not null
group by tconst, nconst
