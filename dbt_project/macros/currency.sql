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
