"""gold.alert has exactly the shape the serving load and vigil.fact_alert expect."""

from jobs.serving import targets
from jobs.signals import tables as st


def test_alert_table_matches_the_serving_shape():
    assert st.ALERT.column_types == targets.ALERT.column_types
    assert st.ALERT.key == targets.ALERT.key
    assert st.ALERT.change_data_feed and st.SAFETY_SIGNAL.change_data_feed
