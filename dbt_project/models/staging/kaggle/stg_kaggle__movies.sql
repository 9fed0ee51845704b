with

source as (

    select * from {{ source('kaggle', 'movie_metadata') }}

),

renamed as (

    select
        cast(tconst as {{ imdb_elt.string_type() }}) as tconst,
        cast(movie_title as {{ imdb_elt.string_type() }}) as movie_title,
        cast(title_year as integer) as title_year,
        cast(duration as integer) as duration_minutes,
        cast(director_name as {{ imdb_elt.string_type() }}) as director_name,
        {{ imdb_elt.array_column('genres') }} as genres,
        cast(imdb_score as numeric(3, 1)) as imdb_score,
        cast(num_voted_users as bigint) as num_voted_users,
        cast(gross as bigint) as gross,
        cast(budget as bigint) as budget,
        cast(content_rating as {{ imdb_elt.string_type() }}) as content_rating,
        cast(country as {{ imdb_elt.string_type() }}) as country,
        cast(language as {{ imdb_elt.string_type() }}) as language,
        cast(color as {{ imdb_elt.string_type() }}) as color,
        cast(actor_1_name as {{ imdb_elt.string_type() }}) as actor_1_name,
        cast(actor_2_name as {{ imdb_elt.string_type() }}) as actor_2_name,
        cast(actor_3_name as {{ imdb_elt.string_type() }}) as actor_3_name,
        cast(num_critic_for_reviews as integer) as num_critic_for_reviews,
        cast(num_user_for_reviews as integer) as num_user_for_reviews,
        cast(facenumber_in_poster as integer) as facenumber_in_poster,
        {{ imdb_elt.array_column('plot_keywords') }} as plot_keywords,
        cast(movie_imdb_link as {{ imdb_elt.string_type() }}) as movie_imdb_link,
        cast(aspect_ratio as numeric(5, 2)) as aspect_ratio,
        cast(director_facebook_likes as bigint) as director_facebook_likes,
        cast(actor_1_facebook_likes as bigint) as actor_1_facebook_likes,
        cast(actor_2_facebook_likes as bigint) as actor_2_facebook_likes,
        cast(actor_3_facebook_likes as bigint) as actor_3_facebook_likes,
        cast(cast_total_facebook_likes as bigint) as cast_total_facebook_likes,
        cast(movie_facebook_likes as bigint) as movie_facebook_likes,
        cast(_snapshot_id as {{ imdb_elt.string_type() }}) as snapshot_id,
        cast(_loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
