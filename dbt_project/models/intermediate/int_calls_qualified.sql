-- Calls that count for a funnel's call stage: the funnel's lines, a known client phone
-- that is not excluded (int_calls_on_funnel_lines), and the stage's rule. Its least talk
-- time (config_stages: the stage's min_talk_s, else a conversation's for a stage of
-- answered calls) judges the calls whose log gives a talk time; a call without one (a
-- generic log mapping none) counts by the rest of the rule. One row per
-- funnel, call and call stage. Incremental by UTC call month (macros/incremental.sql).
{{ incremental_months('call_month', 'calls_rebuild_from') }}

with

on_funnel_lines as (
    select * from {{ ref('int_calls_on_funnel_lines') }}
    where {{ from_boundary('call_month', calls_rebuild_from()) }}
),

stages as (
    select * from {{ ref('stg_landing__config_stages') }}
    where stage_rule = 'calls'
),

final as (
    select
        on_funnel_lines.funnel_id,
        on_funnel_lines.source,
        on_funnel_lines.call_id,
        on_funnel_lines.started_at,
        on_funnel_lines.client_phone_hash,
        on_funnel_lines.manager,
        stages.stage_key,
        stages.stage_order,
        on_funnel_lines.call_month
    from on_funnel_lines
    inner join stages
        on on_funnel_lines.funnel_id = stages.funnel_id
    where
        (stages.call_direction is null or on_funnel_lines.direction = stages.call_direction)
        and (
            stages.call_answered is null
            or (on_funnel_lines.disposition = 'answered') = stages.call_answered
        )
        and (
            stages.call_min_talk_s is null
            or on_funnel_lines.talk_s is null
            or on_funnel_lines.talk_s >= stages.call_min_talk_s
        )
)

select * from final
order by call_month
