-- Deals of each funnel's CRM pipelines, one row per funnel and deal.
with

deals as (
    select * from {{ ref('stg_landing__crm_deals') }}
),

funnel_crm as (
    select * from {{ ref('stg_landing__config_funnel_crm') }}
),

final as (
    select
        funnel_crm.funnel_id,
        {{ dbt.concat(["'deal:'", "deals.source", "':'", "deals.deal_id"]) }} as entity_id,
        deals.source,
        deals.deal_id,
        deals.crm_pipeline,
        deals.stage as current_stage,
        deals.status,
        deals.created_at,
        deals.closed_at,
        deals.manager,
        deals.lead_source,
        deals.amount,
        deals.lost_reason
    from deals
    inner join funnel_crm
        on
            deals.source = funnel_crm.source
            and deals.crm_pipeline = funnel_crm.crm_pipeline
)

select * from final
