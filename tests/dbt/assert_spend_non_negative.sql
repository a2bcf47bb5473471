-- Every configured spend channel is >= 0 in every week (fails with the week and channel).
select week_start_date, channel, spend
from {{ ref('int_media_spend_unpivoted') }}
where spend < 0
