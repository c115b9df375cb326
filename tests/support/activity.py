"""A small, known history of a product, written straight into its tables at chosen times: what
the analytics and export tests count. (The write paths have tests of their own; these rows are
what those paths store, field for field.)"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from plaudit.events.models import Event
from plaudit.loyalty.models import EarningRule, LedgerEntry, LoyaltyAccount, Redemption
from plaudit.referrals.models import Referral, ReferralClick, ReferralCode, ReferralReward
from plaudit.users.models import User

DAY1 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
DAY3 = DAY1 + dt.timedelta(days=2)
_ids = itertools.count(1)


@dataclass
class Activity:
    """Writes one product's rows; each method returns what it wrote."""

    session: Session
    product_id: str
    users: dict[str, User] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)

    def user(self, external_id: str, *, at: dt.datetime = DAY1, **profile: str) -> User:
        if external_id not in self.users:
            user = User(
                product_id=self.product_id,
                external_id=external_id,
                first_seen_at=at,
                last_seen_at=at,
                **profile,
            )
            self.session.add(user)
            self.session.flush()
            self.users[external_id] = user
        return self.users[external_id]

    def rule(self, rule_id: str, name: str, event_type: str) -> EarningRule:
        rule = EarningRule(
            id=rule_id, product_id=self.product_id, name=name, event_type=event_type, points=1
        )
        self.session.add(rule)
        return rule

    def event(self, who: str, type: str, at: dt.datetime) -> Event:
        event = Event(
            id=f"evt_{self.product_id}_{next(_ids)}",
            product_id=self.product_id,
            user_pk=self.user(who).id,
            type=type,
            properties={},
            source="server",
            created_at=at,
        )
        self.session.add(event)
        return event

    def ledger(
        self,
        who: str,
        delta: int,
        kind: str,
        at: dt.datetime,
        *,
        rule_id: str | None = None,
        reason: str = "",
    ) -> LedgerEntry:
        user = self.user(who)
        balance = self.balances.get(who, 0) + delta
        self.balances[who] = balance
        entry = LedgerEntry(
            product_id=self.product_id,
            user_pk=user.id,
            delta=delta,
            kind=kind,
            reason=reason,
            balance_after=balance,
            rule_id=rule_id,
            created_at=at,
        )
        self.session.add(entry)
        account = self.session.get(LoyaltyAccount, user.id)
        if account is None:
            account = LoyaltyAccount(
                user_pk=user.id, product_id=self.product_id, balance=0, lifetime=0
            )
            self.session.add(account)
        account.balance = balance
        account.lifetime += max(delta, 0) if kind in ("earn", "referral") else 0
        return entry

    def redeem(self, who: str, reward_id: str, name: str, cost: int, at: dt.datetime) -> None:
        redemption_id = f"red_{next(_ids)}"
        self.session.add(
            Redemption(
                id=redemption_id,
                product_id=self.product_id,
                user_pk=self.user(who).id,
                reward_id=reward_id,
                reward_name=name,
                cost=cost,
                created_at=at,
            )
        )
        self.ledger(who, -cost, "redeem", at).redemption_id = redemption_id

    def code(self, who: str, code: str) -> None:
        self.session.add(
            ReferralCode(code=code, product_id=self.product_id, user_pk=self.user(who).id)
        )

    def click(self, referrer: str, at: dt.datetime) -> None:
        self.session.add(
            ReferralClick(
                product_id=self.product_id, referrer_pk=self.user(referrer).id, created_at=at
            )
        )

    def referral(
        self,
        referrer: str,
        referred: str,
        signed_up: dt.datetime,
        converted: dt.datetime | None = None,
        reward: int | None = None,
    ) -> Referral:
        referral = Referral(
            product_id=self.product_id,
            referrer_pk=self.user(referrer).id,
            referred_external_id=referred,
            signed_up_at=signed_up,
            converted_at=converted,
        )
        self.session.add(referral)
        self.session.flush()
        if reward is not None:
            self.session.add(
                ReferralReward(
                    product_id=self.product_id,
                    user_pk=referral.referrer_pk,
                    referral_id=referral.id,
                    kind="credit",
                    amount=reward,
                    created_at=converted or signed_up,
                    granted_at=converted or signed_up,
                )
            )
        return referral


def known_history(session: Session, product_id: str, *, suffix: str = "") -> Activity:
    """Three days of a product:

    day 1: ann and bob earn by the check-in rule (10 each) and ann by the purchase rule (50);
           2 clicks on ann's link, carl signs up through it; events from ann, bob.
    day 2: ann redeems the mug (30); 1 click; carl converts (reward 10 credit); dan signs up;
           an adjustment of -5 for bob; events from ann (twice), carl.
    day 3: bob's 5 points expire; bob redeems the mug (10, a sale); events from nobody.

    Rule ids are unique across products: a second product's take ``suffix``.
    """
    a = Activity(session, product_id)
    a.user("ann", email="ann@example.com", first_name='=HYPERLINK("http://x")')
    a.user("bob", email="bob@example.com", at=DAY2)
    a.code("ann", f"ANN{product_id.upper()}"[:32])
    a.rule("rul_checkin" + suffix, "Daily check-in", "check_in")
    a.rule("rul_purchase" + suffix, "Purchase", "purchase")
    a.ledger("ann", 10, "earn", DAY1, rule_id="rul_checkin" + suffix, reason="Daily check-in")
    a.ledger("bob", 10, "earn", DAY1, rule_id="rul_checkin" + suffix, reason="Daily check-in")
    a.ledger("ann", 50, "earn", DAY1 + dt.timedelta(hours=14), rule_id="rul_purchase" + suffix)
    a.ledger("bob", 10, "earn", DAY1, rule_id="rul_gone" + suffix, reason="A deleted rule")
    a.click("ann", DAY1)
    a.click("ann", DAY1 + dt.timedelta(hours=1))
    a.referral("ann", "carl", DAY1, converted=DAY2, reward=10)
    a.event("ann", "check_in", DAY1)
    a.event("bob", "check_in", DAY1)
    a.redeem("ann", "rwd_mug", "Mug", 30, DAY2)
    a.click("ann", DAY2)
    a.referral("ann", "dan", DAY2)
    a.ledger("bob", -5, "adjust", DAY2, reason="-5 for a returned order")
    a.event("ann", "purchase", DAY2)
    a.event("ann", "check_in", DAY2)
    a.event("carl", "check_in", DAY2)
    a.ledger("bob", -5, "expire", DAY3, reason="Expired")
    a.redeem("bob", "rwd_mug", "Mug", 10, DAY3)
    session.flush()
    return a
