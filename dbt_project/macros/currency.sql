{#- A deal's currency as an ISO 4217 code where it is one (`usd` → `USD`, the ruble's
    marks and names → `RUB`); NULL where it is not (a name the exports spell otherwise):
    such an amount counts as the config's currency, as an amount with no currency does. -#}
{% macro currency_code(column) -%}
    case
        when upper(trim({{ column }})) in ('₽', 'Р.', 'РУБ', 'РУБ.', 'РУБЛЬ', 'РУБЛИ', 'RUR', 'РОССИЙСКИЙ РУБЛЬ')
            then 'RUB'
        when length(trim({{ column }})) = 3 and upper(trim({{ column }})) between 'AAA' and 'ZZZ'
            then upper(trim({{ column }}))
    end
{%- endmacro %}

{#- Refuse to sum amounts in several currencies with nothing to say which counts: without
    voronka.yaml's `currency`, the amounts of one funnel's deals (`relation`:
    int_deals_joined_to_funnels; every export's snapshot of each, from
    stg_landing__crm_deal_snapshots) must carry at most one ISO code, else the build fails
    naming the funnel, its currencies and the key (docs/contracts.md "Config"). Funnels in
    different currencies are fine: each sums its own. With the key, amounts in other
    currencies are left out of every sum (stg_landing__crm_deal_snapshots) and counted in
    data_quality. A post-hook: it reads the table as the run left it. -#}
{% macro amounts_in_one_currency(relation) -%}
    {%- if execute -%}
        {%- set code = currency_code('snapshots.currency') -%}
        {%- set found = run_query(
            "select deals.funnel_id, " ~ code ~ " as code,"
            ~ " count(distinct deals.source || ':' || deals.deal_id) as deals"
            ~ " from " ~ relation ~ " as deals"
            ~ " inner join " ~ ref('stg_landing__crm_deal_snapshots') ~ " as snapshots"
            ~ " on deals.source = snapshots.source and deals.deal_id = snapshots.deal_id"
            ~ " cross join " ~ ref('stg_landing__config_settings') ~ " as settings"
            ~ " where settings.currency is null and snapshots.amount is not null"
            ~ " and " ~ code ~ " is not null"
            ~ " group by 1, 2 order by 1, 3 desc, 2"
        ) -%}
        {%- set by_funnel = {} -%}
        {%- for row in found.rows -%}
            {%- do by_funnel.setdefault(row[0], []).append(row[1] ~ ': ' ~ row[2] ~ ' deal(s)') -%}
        {%- endfor -%}
        {%- for funnel_id, listed in by_funnel.items() | sort if listed | length > 1 -%}
            {{ exceptions.raise_compiler_error(
                "the deal amounts of the funnel '" ~ funnel_id ~ "' are in " ~ listed | length
                ~ " currencies (" ~ listed | join(', ') ~ ") and voronka.yaml sets no `currency:`."
                ~ " Set it to the currency the report sums, e.g. `currency: "
                ~ listed[0].split(':')[0] ~ "`: deals in the others are then left out of every"
                ~ " sum and counted in data_quality (amounts_other_currency)."
            ) }}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
