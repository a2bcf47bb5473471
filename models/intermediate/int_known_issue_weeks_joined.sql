-- Known issues (knowledge layer) expanded to the weeks they cover. When several issues cover a
-- week, the strongest action wins (exclude > cap > flag) and the ids are listed.
with weeks as (

    -- the dataset's knowledge and calendar hold for every series: weeks, not series weeks
    select distinct week_start_date from {{ ref('int_marketing_weeks_gridded') }}

),

issues as (

    select
        issue_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        column_name,
        action
    from {{ ref('knowledge_known_issues') }}

),

expanded as (

    select
        weeks.week_start_date,
        issues.issue_id,
        issues.column_name,
        issues.action,
        case issues.action when 'exclude' then 3 when 'cap' then 2 else 1 end as action_rank
    from weeks
    inner join issues
        -- a weekly row covers [week_start_date, week_start_date + 6 days]
        on issues.start_date <= weeks.week_start_date + interval 6 day
        and issues.end_date >= weeks.week_start_date

),

final as (

    select
        week_start_date,
        arg_max(issue_id, action_rank) as known_issue_id,
        arg_max(action, action_rank) as known_issue_action,
        arg_max(column_name, action_rank) as known_issue_column,
        string_agg(issue_id, ', ' order by issue_id) as known_issue_ids
    from expanded
    group by week_start_date

)

select * from final
