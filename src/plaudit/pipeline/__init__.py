"""The event pipeline: one orchestrator above the programs.

An event is stored (``events``), earns by the rules into the ledger (``loyalty``), counts
towards streaks and badges (``gamification``) and queues its webhooks (``webhooks``), in that
order and in one transaction. Those packages never import each other in a circle, nor this one:
whatever needs several programs at once (an event, a manual adjustment) runs from here."""
