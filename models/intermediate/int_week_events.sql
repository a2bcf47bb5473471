-- Which events fall in which week, from three sources: the built-in calendar (public
-- holidays and retail peaks, python_models/calendar_events), the dataset's own campaigns and
-- promotions (knowledge layer, Events), and known issues with action "flag". A week covers its
-- start day and the six days after it; an event counts in every week it overlaps.
with weeks as (

    -- the dataset's knowledge and calendar hold for every series: weeks, not series weeks
    select distinct week_start_date from {{ ref('int_marketing_weeks_gridded') }}

),

calendar as (

    select event_id, event_date as start_date, event_date as end_date, 'calendar' as source
    from {{ ref('calendar_events') }}

),

dataset_events as (

    select
        event_id,
        cast(start_date as date) as start_date,
        cast(coalesce(end_date, start_date) as date) as end_date,
        'knowledge' as source
    from {{ ref('knowledge_events') }}

),

flagged_issues as (

    select
        issue_id as event_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        'known_issue' as source
    from {{ ref('knowledge_known_issues') }}
    where action = 'flag'

),

events as (

    select * from calendar
    union all
    select * from dataset_events
    union all
    select * from flagged_issues

),

final as (

    select
        weeks.week_start_date,
        events.event_id,
        string_agg(distinct events.source, ', ' order by events.source) as sources
    from weeks
    inner join events
        on events.start_date <= weeks.week_start_date + interval 6 day
        and events.end_date >= weeks.week_start_date
    group by weeks.week_start_date, events.event_id

)

select * from final
