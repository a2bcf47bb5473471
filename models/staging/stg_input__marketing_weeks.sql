-- One row per series and week of the validated input (stg_input__weeks): named for the
-- pipeline.
-- Column names come from prism.yml and pass prism_safe_identifier before rendering.
{%- set channels = prism_channels() %}
{%- set controls = prism_controls() %}

with source as (

    select * from {{ ref('stg_input__weeks') }}

),

renamed as (

    select
        cast(series_id as varchar) as series_id,
        {%- for column in prism_series_columns() %}
        cast({{ adapter.quote(column) }} as varchar) as {{ column }},
        {%- endfor %}
        cast({{ adapter.quote(prism_setting('date_column')) }} as date) as week_start_date,
        cast({{ adapter.quote(prism_setting('kpi_column')) }} as double) as kpi,
        {%- for channel in channels %}
        cast({{ adapter.quote(channel) }} as double) as spend_{{ channel }},
        {%- endfor %}
        {%- for control in controls %}
        cast({{ adapter.quote(control) }} as double) as ctrl_{{ control }},
        {%- endfor %}
        true as is_observed
    from source

)

select * from renamed
