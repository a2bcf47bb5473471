-- Trend, yearly Fourier seasonality and the train/holdout split (last holdout_weeks weeks).
-- prism_mmm/data.py seasonality_features() mirrors these formulas; a test keeps them equal.
with flagged as (

    select * from {{ ref('int_marketing_weeks_flagged') }}

),

indexed as (

    select
        *,
        row_number() over (order by week_start_date) - 1 as week_index,
        count(*) over () as n_weeks,
        cast(dayofyear(week_start_date) as double) as day_of_year
    from flagged

),

final as (

    select
        * exclude (week_index, n_weeks, day_of_year),
        week_index / greatest(n_weeks - 1, 1) as trend,
        {%- for k in range(1, var('fourier_order') + 1) %}
        sin(2 * pi() * {{ k }} * day_of_year / 365.25) as season_sin_{{ k }},
        cos(2 * pi() * {{ k }} * day_of_year / 365.25) as season_cos_{{ k }},
        {%- endfor %}
        case when week_index >= n_weeks - {{ var('holdout_weeks') }} then 'holdout' else 'train' end
            as split
    from indexed

)

select * from final
