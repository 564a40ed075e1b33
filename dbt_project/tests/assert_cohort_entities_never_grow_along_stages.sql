-- Under `implied` and `strict`, a cohort can only lose entities from one stage to the next.
with

monthly as (
    select * from {{ ref('funnel_stage_monthly') }}
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
)

select monthly.*
from monthly
inner join funnels
    on monthly.funnel_id = funnels.funnel_id
where
    monthly.view = 'cohort'
    and funnels.reach_policy in ('implied', 'strict')
    and monthly.entities_next > monthly.entities
