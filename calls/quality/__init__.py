"""Call quality from Voice Insights: each finished leg's Call Summary, fetched after the call
by a beat sweep (calls.tasks.call_quality_sweep) and kept in calls.models.CallQuality."""
