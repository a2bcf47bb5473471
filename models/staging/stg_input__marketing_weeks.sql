-- One row per week of the input (bundled seed or a validated user CSV): typed and renamed.
-- Column names come from configuration and pass prism_safe_identifier before rendering.
{%- set channels = prism_channels() %}
{%- set controls = prism_controls() %}

with source as (

    select * from {{ prism_input_relation() }}

),

renamed as (

    select
        cast({{ prism_raw_column(var('date_column')) }} as date) as week_start_date,
        cast({{ prism_raw_column(var('kpi_column')) }} as double) as kpi,
        {%- for channel in channels %}
        cast({{ prism_raw_column(channel) }} as double) as spend_{{ channel }},
        {%- endfor %}
        {%- for control in controls %}
        cast({{ prism_raw_column(control) }} as double) as ctrl_{{ control }},
        {%- endfor %}
        true as is_observed
    from source

)

select * from renamed
