"""Events a user's actions send to Plaudit (the gamification guide's "Send your first event").

This package is the event store: the stored event, its shapes and its repository. Applying an
event to the programs, and the routes that accept events, are the pipeline's
(``plaudit.pipeline``), which sits above every program."""
