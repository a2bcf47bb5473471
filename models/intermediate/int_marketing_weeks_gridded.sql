-- A complete weekly grid from each series' first to its last input week. Weeks missing from
-- the input appear with is_observed = false so the mmm_input tests name them instead of
-- silently closing the gap.
with observed as (

    select * from {{ ref('stg_input__marketing_weeks') }}

),

grid as (

    select
        series_id,
        cast(unnest(generate_series(min(week_start_date), max(week_start_date), interval 7 day)) as date)
            as week_start_date
    from observed
    group by series_id

),

final as (

    select
        grid.series_id,
        grid.week_start_date,
        observed.* exclude (series_id, week_start_date, is_observed),
        coalesce(observed.is_observed, false) as is_observed
    from grid
    left join observed
        on observed.series_id = grid.series_id
        and observed.week_start_date = grid.week_start_date

)

select * from final
