"""Every text the bot shows, in one catalogue: the English source of the translations.

Look texts up with ``t(key, **values)``: a seller's text comes in the language of the current
turn (``bot.i18n``) from the gettext catalogue ``bot/locale/<language>/LC_MESSAGES/messages.po``
(msgctxt the key, msgid the English text here); agents' and operators' texts (``AGENT_KEYS``)
stay English. A text whose wording depends on a number is a ``Plural``. Keep texts short and
friendly; after changing one, run ``make translations`` and translate what it marks.

Longer than 400 lines because it is data, not logic: every seller-facing text in one place,
one entry per line, so that a translator or a reviewer of wording reads one file.
"""

from __future__ import annotations

from typing import Any

from bot import i18n
from bot.domain import Case
from bot.subjects import label_of


class Plural(str):
    """An English text with a singular form: as a str it is the plural ("other") form, so it
    formats like any text; ``t`` picks the form (``ngettext``) by the value named ``count``."""

    one: str
    counter: str

    def __new__(cls, one: str, other: str, counter: str = "count") -> Plural:
        text = super().__new__(cls, other)
        text.one = one
        text.counter = counter
        return text


#: Texts for agents (Slack threads and channels, the digest) and operators, and texts stored
#: in the case like an agent's words (a deleted reply's stand-in), by key prefix: English
#: whatever the seller speaks, and not in the translators' catalogue.
AGENT_KEYS: tuple[str, ...] = (
    "thread.", "agents.", "sched.thread_", "sched.channel_", "sched.digest", "sched.reason_",
    "case_title_untyped", "console.invitation_expired", "delete.", "agent_message_deleted",
)

CASE_TYPE_LABELS: dict[str, str] = {
    "account_health": "Account health / appeal",
    "account_access": "Account access",
    "registration": "Registration",
    "listing": "Listings",
    "order": "Orders",
    "payment": "Payments",
    "shipping": "Shipping",
    "inventory": "Inventory / fulfilment",
    "policy": "Policy & compliance",
    "advertising": "Advertising",
}

# What sellers see for each status (rule 10).
STATUS_LABELS: dict[str, str] = {
    "open": "In progress",
    "investigating": "In progress",
    "pending": "Waiting for you",
    "resolved": "Resolved",
    "closed": "Closed",
    "declined": "Declined",
}

EVALUATION_LABELS: dict[str, str] = {
    "like": "Worthy of a Like",
    "so_so": "So-so",
    "disappointing": "Very Disappointing",
}

CATALOGUE: dict[str, str] = {
    # Relay and status notices (sent by the case rules through the outbox)
    "agent_reply": "💬 {number}: {text}",
    "status.investigating": "🔎 {number} is being looked at by our team.",
    "status.pending": "⏳ {number} is waiting for you: please reply here with what we asked for.",
    "status.resolved": "✅ {number} is resolved. Reply here if something is still wrong.",
    "status.closed": (
        "📁 {number} is closed. If you still need help, you can reopen it (or, after a "
        "while, open a new case that links it)."
    ),
    "status.declined": (
        "{number} was declined: {reason}. No further action will be taken on this issue."
    ),
    "status.declined_no_reason": (
        "{number} was declined. No further action will be taken on this issue."
    ),
    "evaluate.ask": "How did we do on {number}?",
    "case_title_untyped": "Enquiry of {when}",
    # Thread notes for agents (Slack)
    "thread.seller_message": "{text}",
    "thread.status": "Status: {old} → {new} by {actor}{reason}",
    "thread.urgent_on": "🚨 Flagged urgent by {actor}",
    "thread.urgent_off": "Urgent flag removed by {actor}",
    "thread.keep_open": "Seller asked to keep the case open (until {until})",
    "thread.needs_human": "🙋 Seller asked to talk to a human",
    "thread.reopened_as": "Reopened by the seller as {number}",
    "thread.reopened_from": "Reopened from {number}",
    "thread.evaluation": "Seller evaluation: {level}{reason}",
    "thread.note": "📝 Note by {author}: {text}",
    "thread.agent_reply_cli": "Reply sent by {author}: {text}",
    "thread.blocked": (
        "⚠️ The seller's {channel} chat no longer accepts messages ({error}); replies are not "
        "delivered."
    ),
    "thread.delivery_failed": "⚠️ Not delivered to the seller: {error}",
    "thread.file_not_copied": (
        "⚠️ The seller's file \"{name}\" could not be copied into this thread after {attempts} "
        "tries ({error}). Its details are in the message above."
    ),
    "thread.not_sent": "⚠️ Not sent to the seller: {error}",
    "thread.seller_blocked": (
        "⚠️ The seller blocked the bot on {channel}: replies are not delivered until they "
        "unblock it or write again."
    ),
    "thread.seller_reachable": (
        "✅ The seller's {channel} chat accepts messages again: replies are delivered from now "
        "on. Replies marked as not delivered were not resent; send again what still matters."
    ),
    # Conversation (bot.engine, bot.dialogue) ------------------------------------------------
    "engine.error": "Sorry, something went wrong on our side. Please try again in a moment.",
    "input.too_long": (
        "That message is too long for me ({length} characters; the limit is {limit}). Please send "
        "a shorter summary, or split it into several messages. Nothing you said before is lost."
    ),
    "reply.go_ahead": "Go ahead: what you write next goes to {number}. Photos and files too.",
    "input.file_too_large": (
        "I can't take \"{name}\" ({size_mb} MB): files can be at most {limit_mb} MB. Please send "
        "a smaller file or a link to it."
    ),
    "input.combined_too_long": (
        "All together your description is {length} characters; the limit is {limit}. Send me a "
        "shorter summary and I'll use it instead."
    ),
    "flow.cancelled": "Okay, cancelled. Nothing was opened.",
    "flow.nothing_to_cancel": "There's nothing to cancel.",
    # The seller's language (/language, and the offer when they write in another one)
    "language.ask": "Which language shall I answer you in? 请选择回复语言：",
    "language.set": "Done: from now on I'll answer you in {name}.",
    "language.kept": "Okay, I'll keep answering in {name}. Send /language to change it any time.",
    "language.offer": (
        "It looks like you're writing in {name}. Shall I answer you in {name} from now on?"
    ),
    "button.switch_language": "Yes, answer in {name}",
    "button.keep_language": "No, keep {name}",
    # Registration (rule 7)
    "register.invite_only": (
        "Welcome to {brand} seller support! 👋 {brand} is in pre-launch: we register sellers by "
        "invitation only. If you have an invitation code, send it here. Otherwise I can ask our "
        "team for an invitation."
    ),
    "register.ask_code": "Please send your invitation code.",
    "register.code_invalid": (
        "That invitation code doesn't work: it may be mistyped, already used or expired. Check it "
        "and try again, or request an invitation."
    ),
    "register.welcome": (
        "You're registered as {name}. ✅ Tell me about any problem with selling on {brand} and "
        "I'll open a case, or ask for the status of your cases."
    ),
    "register.already": "You're already registered as {name}.",
    "register.ask_request": (
        "Tell me your business name and what you sell, in one message, and I'll pass it to our team."
    ),
    "register.request_recorded": (
        "Thanks! Your request is with the {brand} team; they'll contact you with an invitation code."
    ),
    "register.request_already": "Your request is already with our team; they'll be in touch.",
    # Small talk and help
    "smalltalk.greet": "Hi {name}! 👋 Tell me what's wrong, or check on your cases.",
    "smalltalk.welcome_back": "Welcome back, {name}! Tell me what's wrong, or check on your cases.",
    "smalltalk.thank": "You're welcome! 😊",
    "smalltalk.goodbye": "Bye for now! Write here any time.",
    "smalltalk.help": (
        "I'm {brand} seller support. Describe a problem and I'll open a case (or add to the one "
        "you already have). You can also:\n"
        "• ask \"any update?\" or send a case number ({prefix}-000123) for its status\n"
        "• ask to reopen a case, flag it urgent, keep it open, or talk to a person\n"
        "• /link: use your account in another chat too (Telegram or a Slack DM)\n"
        "• /invite NAME: invite a colleague as a sub-account (main accounts)\n"
        "• /language: English or 简体中文\n"
        "Commands: /new, /cases, /case {prefix}-000123, /link, /invite NAME, /language, /cancel, "
        "/help"
    ),
    "smalltalk.help_email": (
        "\n📧 /email ADDRESS: get an email when an agent's reply waits for you "
        "(/email off stops it)"
    ),
    "smalltalk.help_web": (
        "\n🌐 /web: open your cases in a browser (a one-time login link)"
    ),
    "smalltalk.out_of_scope": (
        "I can only help with selling on {brand}: orders, payments, shipping, listings, your "
        "account and so on. What's the problem?"
    ),
    "smalltalk.nothing_pending": "I'm not waiting for a yes or no right now. How can I help?",
    "smalltalk.unknown_command": "I don't know /{command}. Try one of: {commands}.",
    "smalltalk.empty": "I didn't get any text. Tell me what's wrong, or check on your cases.",
    "smalltalk.stale_button": "That choice is no longer available. What would you like to do?",
    # Buttons
    "button.have_code": "I have a code",
    "button.request_invite": "Request an invitation",
    "button.new_case": "New case",
    "button.my_cases": "My cases",
    "button.something_else": "Something else",
    "button.kb_solved": "Yes, solved",
    "button.kb_not_solved": "No, I still need help",
    "button.no_order": "Not about one order",
    "button.add_to": "Add to {number}",
    "button.different_issue": "It's a different issue",
    "button.new_issue": "It's a new issue",
    "button.open_case": "Open the case",
    "button.cancel": "Cancel",
    "button.submit_appeal": "Submit the appeal",
    "button.redo_plan": "Start over",
    "button.flag_urgent": "Flag urgent",
    "button.flag_urgent_n": "Flag {number} urgent",
    "button.keep_open": "Keep open",
    "button.keep_open_n": "Keep {number} open",
    "button.talk_to_human": "Talk to a person",
    "button.talk_to_human_n": "A person for {number}",
    "button.reopen": "Reopen {number}",
    # Case lines and details
    "case_type.untyped": "Other",
    "case.line": "{number} · {title}: {status}",
    "case.urgent_mark": " · 🚨 urgent",
    "case.updated_mark": " · 🆕 Updated ({count} new)",
    "case.last_reply": "   Last reply ({when}): {text}",
    "case.no_reply_yet": "   No reply from our team yet.",
    "case.detail": "{text}",
    "case.reopened_as": "   Reopened as {number}.",
    "case.reopened_from": "   Reopened from {number}.",
    "case.not_found": "I can't find {number} among your cases.",
    "case.that_case": "that case",
    "case.bad_number": "\"{text}\" doesn't look like a case number. Case numbers look like {prefix}-000123.",
    "case.opened": Plural(
        "✅ Opened {number} ({title}). Our team replies within {hours} hour. Add details, photos or "
        "files here any time; I'll put them in the case.",
        "✅ Opened {number} ({title}). Our team replies within {hours} hours. Add details, photos or "
        "files here any time; I'll put them in the case.", "hours"),
    "case.title_untyped": "Enquiry of {when}",
    "case.opened_existing": "You already have {number} open on this, so I've added your message there.",
    # Intake (rules 1, 4, 8, 9)
    "kb.article": "📘 {title}\n{body}\n\nDid this solve it?",
    "kb.glad": "Great, glad that helped! Write here any time.",
    "intake.ask_order": "Which order is it about ({type})? Send the order id, e.g. 123-1234567-1234567.",
    "intake.which_order": "Which order is this other issue about? Send its order id.",
    "intake.order_invalid": (
        "That doesn't look like an order id. Order ids look like 123-1234567-1234567 or "
        "240518K7QW93XZ."
    ),
    "intake.ask_description": "What happened? Describe the problem in a sentence or two.",
    "intake.ask_more_detail": (
        "Please tell me a bit more ({type}): what happened, when, and what you've tried. "
        "Photos and files are welcome."
    ),
    "intake.duplicate": "You already have a case on this issue:",
    "intake.duplicate_question": "Shall I add your message to {number}?",
    "intake.confirm_title": "I'll open this case:",
    "intake.confirm_type": "• Type: {type}",
    "intake.confirm_order": "• Order: {order}",
    "intake.confirm_description": "• Description: {text}",
    "intake.confirm_attachments": "• Attachments: {count}",
    "intake.confirm_question": "Open it?",
    "intake.added_detail": "Added that to the description.",
    "triage.ask_type": "What is it about? Pick the closest, or \"Something else\".",
    "triage.new_case": "What is the new case about? Pick a type, or just describe the problem.",
    "triage.nlu_down": (
        "I can't read messages as well as usual right now. What is it about? Pick the closest, "
        "or \"Something else\"."
    ),
    # Appeals (rule 9)
    "appeal.intro": (
        "Let's write your appeal as a plan of action, in three parts: the root cause, what you've "
        "done, and how you'll prevent it. Be specific: agents decide on what you write."
    ),
    "appeal.ask.root_cause": "1/3 Root cause: what exactly caused the problem in the notification?",
    "appeal.ask.actions": "2/3 Actions taken: what have you already done to fix it?",
    "appeal.ask.prevention": "3/3 Prevention: what will you change so it doesn't happen again?",
    "appeal.thin.root_cause": (
        "That's too short for an appeal. Explain the root cause in a few sentences (at least "
        "{chars} characters): what went wrong, and why."
    ),
    "appeal.thin.actions": (
        "Please say what you actually did, in a few sentences (at least {chars} characters): "
        "which orders, listings or settings you fixed, and when."
    ),
    "appeal.thin.prevention": (
        "Please describe the concrete changes that prevent a repeat, in a few sentences (at least "
        "{chars} characters), different from the earlier parts."
    ),
    "appeal.part_too_long": "That part is {length} characters; please keep each part under {limit}.",
    "appeal.plan_title": "Plan of action",
    "appeal.plan_summary": "Seller's summary: {text}",
    "appeal.plan.root_cause": "Root cause: {text}",
    "appeal.plan.actions": "Actions taken: {text}",
    "appeal.plan.prevention": "Prevention: {text}",
    "appeal.confirm_title": "Your plan of action:",
    "appeal.confirm_question": "Submit it as an appeal?",
    # Follow-ups
    "followup.added": "📎 Added to {number}.",
    "followup.added_back": "📎 Added to {number}; it's back with our team.",
    "followup.closed": "{number} is closed. Reopen it to continue? You'll get a new number linked to it.",
    "followup.empty": "There was nothing to add.",
    "followup.which_case": "Which case is this about?",
    "followup.same_or_new": "Is this about {number}, or a new issue?",
    # Status (rule 2, 10)
    "status.list": "{title}\n\n{text}",
    "status.active_title": "Your active cases ({count}):",
    "status.matching": "Cases matching \"{query}\" ({count}):",
    "status.none_active": "You have no active cases. To open one, just describe the problem.",
    "status.none_matching": "No cases match \"{query}\".",
    # Case actions (rules 3, 5)
    "reopen.new_number": Plural(
        "🔁 Reopened as {number} (linked to {old}). Our team replies within {hours} hour.",
        "🔁 Reopened as {number} (linked to {old}). Our team replies within {hours} hours.",
        "hours"),
    "reopen.back_in_progress": "🔁 {number} is back in progress.",
    "reopen.already_active": (
        "You already have {number} open on the same issue as {old}. Write here and I'll add it there."
    ),
    "reopen.added_to_active": (
        "📎 You already have {number} open on the same issue as {old}, so I've added your message "
        "to {number} for our team."
    ),
    "reopen.still_in_progress": "{number} is still in progress; no need to reopen it.",
    "reopen.no_case": "You have no resolved or closed cases to reopen.",
    "reopen.which": "Which case should I reopen?",
    "urgent.done": Plural("🚨 {number} is flagged urgent. We aim to reply within {hours} hour.",
                          "🚨 {number} is flagged urgent. We aim to reply within {hours} hours.",
                          "hours"),
    "urgent.not_active": "{number} is no longer open, so it can't be flagged urgent.",
    "urgent.no_case": "You have no open cases to flag urgent.",
    "urgent.which": "Which case is urgent?",
    "keep.done": "⏳ {number} will stay open until {until}. Reply when you're ready.",
    "keep.in_progress": "{number} is in progress; it won't be closed while our team works on it.",
    "keep.no_case": "None of your cases is waiting to be closed.",
    "keep.which": "Which case should stay open?",
    "human.requested": Plural(
        "🙋 I've asked a person from our team to take over {number}. Expect a reply within {hours} "
        "hour.",
        "🙋 I've asked a person from our team to take over {number}. Expect a reply within {hours} "
        "hours.", "hours"),
    "human.no_case": (
        "Sure. What is it about? I'll open a case and a person from our team will pick it up."
    ),
    "human.no_case_active": "You have no open cases.",
    "human.which": "Which case should a person take over?",
    # Refusals
    "refused.declined": (
        "Sorry: {number} on this issue was declined with no further action, so I can't open or "
        "reopen a case on it."
    ),
    "refused.declined_reason": (
        "Sorry: {number} on this issue was declined with no further action ({reason}), so I can't "
        "open or reopen a case on it."
    ),
    "refused.daily_cap": Plural(
        "You've reached today's limit of {limit} new case. Please add to an existing case, or "
        "try again tomorrow.",
        "You've reached today's limit of {limit} new cases. Please add to an existing case, or "
        "try again tomorrow.", "limit"),
    "refused.keep_open_limit": (
        "{number} has already been kept open as long as we can. Please reply with what you have so far."
    ),
    "refused.transition": "{number} can't do that in its current status.",
    "refused.generic": "Sorry, I can't do that.",
    # Evaluation (rule 6)
    "eval.ask_reason": "Sorry to hear that. What could we have done better on {number}?",
    "eval.thanks_like": "Thanks for the Like! 💛",
    "eval.thanks": "Thanks for telling us; your feedback on {number} goes to the team.",
    "eval.already": "You've already rated {number}. Thanks!",
    "eval.not_resolved": "{number} hasn't been resolved yet; you can rate it once it is.",
    "eval.expired": Plural("Ratings for {number} closed {days} day after it was resolved.",
                           "Ratings for {number} closed {days} days after it was resolved.",
                           "days"),
    "eval.refused": "I couldn't record that rating for {number}.",
    "eval.skipped": "Okay, no rating for {number}.",
    # Issue 11 — evaluation
    "eval.ask_reason_buttons": (
        "Thanks, your rating ({level}) is recorded. What could we have done better on {number}? "
        "Pick a reason, or tell me in your own words."
    ),
    "eval.ask_other": "Tell me in a few words what we could have done better on {number}.",
    "eval.reason_skipped": "Okay, no reason. Your rating ({level}) of {number} stays recorded.",
    "eval.reason_already": "Your rating of {number} already has its reason. Thanks!",
    "eval.reason_closed": "The rating of {number} is closed now. Thanks anyway!",
    "eval.reason.slow_reply": "Slow reply",
    "eval.reason.problem_not_solved": "Problem not solved",
    "eval.reason.unclear_answer": "Unclear answer",
    "eval.reason.unfriendly": "Unfriendly",
    "eval.reason.other": "Other",
    "eval.reason_with_words": "{label} (“{words}”)",
    "eval.history_line": "⭐ Your rating: {level}{reason}",
    "eval.history_reason": " · {reason}",
    "button.eval_reason_other": "Other (I'll type it)",
    "button.eval_skip_reason": "Skip",
    "thread.evaluation_reason": "Seller's reason for {level}: {reason}",
    "human.again_unanswered": (
        "You already asked for a person on {number} {ago} ({when}). Nobody from our team has "
        "answered since; your request is still with them."
    ),
    "human.again_answered": (
        "You asked for a person on {number} {ago} ({when}), and {who} from our team answered "
        "{answered_ago}.{reply}"
    ),
    "human.again_reply_quote": "\n💬 “{text}”",
    "human.again_told_team": "I've let the team know you asked again.",
    "human.someone": "someone",
    "thread.needs_human_again_unanswered": (
        "🙋 Seller asked again to talk to a human (first asked {when}); nobody has answered since"
    ),
    "thread.needs_human_again_answered": (
        "🙋 Seller asked again to talk to a human after the reply of {answered}: they still "
        "want a person to help"
    ),
    "time_ago.just_now": "just now",
    "time_ago.minutes": Plural("{count} minute ago", "{count} minutes ago"),
    "time_ago.hour": "an hour ago",
    "time_ago.hours": Plural("{count} hour ago", "{count} hours ago"),
    "time_ago.days": Plural("{count} day ago", "{count} days ago"),
    # Issue 11 — evaluation (end)
    # Issue 11 — reading
    "case.updated_status_mark": " · 🆕 Updated (now {status})",
    "status.closed_title": "Your closed and declined cases ({count}):",
    "status.all_title": "All your cases ({count}):",
    "status.range": "{first}–{last}",
    "status.none_closed": "You have no closed or declined cases.",
    "status.none_at_all": "You have no cases yet. To open one, just describe the problem.",
    "status.finished_title": "Closed since you last looked:",
    "button.filter_in_progress": "In progress",
    "button.filter_closed": "Closed",
    "button.filter_all": "All",
    "button.more_cases": "More",
    "button.show_conversation": "Show conversation",
    "button.older": "Older",
    "button.show_case": "Show {number}",
    "button.close_case": "Close this case",
    "button.close_n": "Close {number}",
    "button.close_yes": "Yes, close it",
    "button.close_no": "No, keep it",
    "history.page": "Conversation, {first}–{last} of {total}:",
    "history.older_title": "{number}, earlier in the conversation ({first}–{last} of {total}):",
    "history.empty": "No messages yet.",
    "history.start_reached": "That's the beginning of the conversation of {number}.",
    "history.you": "You",
    "history.team": "{brand} support",
    "history.item": "{who} · {when}{marks}\n{text}",
    "history.new_mark": " · 🆕 new",
    "history.edited_mark": " · edited",
    "history.file": "📎 {name}",
    "history.shortened": "… (shortened)",
    "history.status": "· {when} · Status: {status}",
    "history.status_reason": "· {when} · Status: {status} ({reason})",
    "history.reopened_from": "· {when} · Reopened from {number}",
    "history.reopened_as": "· {when} · Reopened as {number}",
    "history.urgent": "· {when} · Flagged urgent",
    "close.confirm_withdraw": (
        "Withdraw {number} ({title})? Our team will stop working on it. If the problem comes "
        "back, you can reopen it."
    ),
    "close.confirm_close": "Close {number} ({title})? If the problem comes back, you can reopen it.",
    "close.done_withdrawn": (
        "📁 {number} is withdrawn and closed; our team has been told. Glad it's sorted! If the "
        "problem comes back, you can reopen it."
    ),
    "close.done_closed": (
        "📁 {number} is closed; our team has been told. If the problem comes back, you can "
        "reopen it."
    ),
    "close.kept": "Okay, {number} stays open.",
    "close.no_case": "You have no open cases to close.",
    "close.which": "Which case should I close?",
    "close.already_closed": "{number} is already closed.",
    "thread.seller_withdrew_case": (
        "🙋 The seller withdrew the case{words}: no further work needed."
    ),
    "thread.seller_closed": "🙋 The seller closed the case{words}.",
    "thread.seller_words": " (\"{text}\")",
    # Issue 11 — reading (end)
    # Issue 11 — console (the terminal chat's own lines)
    "console.welcome": (
        "{brand} seller support, console chat. Type /help for help, a number to press a button, "
        "/attach PATH to send a photo or file, /quit to leave."
    ),
    "console.chatting_as": "Chatting as {name} (seller {id}).",
    "console.registering_as": (
        "Chatting as {name}, invited with code {code}: registering you with it, as the chat "
        "does when the code is typed."
    ),
    "console.invitation_expired": (
        "the invitation {code} for {name} expired on {date}; create a new one with "
        "frontdoor invite create"
    ),
    "console.demo_code": (
        "You are not registered yet. Your demo invitation code is {code}: type it to register."
    ),
    "console.ask_operator": (
        "You are not registered yet. Ask an operator for a code: "
        "frontdoor invite create \"Your Shop\""
    ),
    "console.edited": "(edited) {text}",
    "console.attach_usage": (
        "To send a photo or file, type /attach and its path, then a caption if you like: "
        "/attach ~/Documents/invoice.pdf the March invoice (put a path with spaces in quotes)."
    ),
    "console.attach_missing": "I can't find a file at {path}. Nothing was sent.",
    "console.attach_not_a_file": "{path} is a folder, not a file. Nothing was sent.",
    "console.attach_unreadable": "I'm not allowed to read {path}. Nothing was sent.",
    # Issue 11 — console (end)
    # Rules (issue subjects, declined is final on every path, reopening window)
    "intake.same_type_open": "You already have {type} cases open:",
    "intake.same_type_question": (
        "Is this about one of them? If it's about something else, tap \"It's a different "
        "issue\"."
    ),
    "intake.which_of_them": (
        "Which case should I add your message to? If it's about something else, tap \"It's a "
        "different issue\"."
    ),
    "intake.ask_subject": (
        "What tells this {type} issue apart from {number}? Send the listing's ASIN or SKU, or a "
        "few words such as \"red kettle listing\"."
    ),
    "intake.subject_unclear": (
        "Sorry, I need something that names it: the ASIN, the SKU, or a few words about the "
        "product."
    ),
    "intake.confirm_subject": "• About: {subject}",
    "intake.confirm_follows": "• Follows up: {number}",
    "intake.same_order_other_type": (
        "{number} already covers {type} for order {order}, and there is one case per issue. If "
        "this is another kind of problem with that order, pick its type:"
    ),
    "reopen.window_passed": Plural(
        "{number} was closed more than {days} day ago, so it can't be reopened. I can open a new "
        "case that mentions {number} instead.",
        "{number} was closed more than {days} days ago, so it can't be reopened. I can open a new "
        "case that mentions {number} instead.", "days"),
    "button.follow_up": "New case about {number}",
    "thread.follows": "Follows up {number} (closed too long ago to reopen)",
    "thread.followed_by": "The seller opened {number} to follow this case up",
    "thread.type_changed": "Type changed to {type} by {actor}",
    # Issue 11 — rules (end)
    # Issue 11 — routing (every message in the right case)
    "button.undo_added": "↩️ Undo / it's something else",
    "followup.words_kept": "📎 I've added what you wrote to {number} for our team.",
    "undo.done": "↩️ Done: I took that message back out of {number}.",
    "undo.what_about": "What is it about, then? Pick the closest, or \"Something else\".",
    "undo.too_late": Plural(
        "It's too late to undo that: after {minutes} minute a message stays in {number}. If it "
        "was meant for something else, describe that issue and I'll open a case for it.",
        "It's too late to undo that: after {minutes} minutes a message stays in {number}. If it "
        "was meant for something else, describe that issue and I'll open a case for it.",
        "minutes"),
    "undo.opened_case": (
        "That message opened {number}, so it can't be taken back. Tell me here if the case "
        "isn't needed."
    ),
    "undo.already": "That message is no longer in a case.",
    "thread.seller_withdrew": (
        "↩️ The seller took this message back out of the case (it was about something else): "
        "\"{text}\""
    ),
    "smalltalk.ack": "👍 I'm here if you need anything else.",
    "smalltalk.not_understood": (
        "I'm not sure what \"{text}\" means here. Tell me what's wrong, or check on your cases."
    ),
    "answer.pick_one": "Which one do you mean? Please pick one of these ({number}):",
    # Issue 11 — routing (end)
    # Issue 12 — agent files
    "agent_file_caption": "📎 {number}: {name}",
    "thread.file_not_sent": (
        "⚠️ The file \"{name}\" did not reach the seller ({error}). Share it again or send a "
        "link."
    ),
    "button.files_again": "Send the files again",
    "history.files_again": "📎 Sending the files of that reply again ({count}).",
    "history.no_files": "That reply has no files to send.",
    "console.file_saved": "{caption} saved to {path}",
    # Issue 12 — agent files (end)
    # Issue 12 — invites (requests answered from Slack, sub-account invites, /link)
    "register.request_approved": (
        "Good news: your invitation request was approved, and you're registered as {name}. "
        "Tell me what's wrong and I'll open a case."
    ),
    "register.request_declined": (
        "Thank you for your interest. We can't offer you an invitation at the moment; "
        "we'll let you know when we open to more sellers."
    ),
    "agents.invite_request": (
        "✉️ Invitation request from {requester} on {channel}:\n{note}"
    ),
    "agents.invite_approve": "Approve",
    "agents.invite_decline": "Decline",
    "agents.invite_approved": "✅ Approved by {agent}: {requester} is registered.",
    "agents.invite_declined": "❌ Declined by {agent}: {requester} was told.",
    "invite.usage": (
        "To invite a sub-account (a colleague selling for your business), send /invite and "
        "their name, e.g. /invite Warehouse team."
    ),
    "invite.only_main": "Only your business's main account can invite sub-accounts.",
    "button.invite_sub_account": "Invite a sub-account",
    "invite.ask_name": (
        "What is your colleague's name (e.g. Warehouse team)? I'll make an invitation for "
        "them to forward. /cancel to stop."
    ),
    "invite.code": Plural(
        "Here is an invitation for {name}: {code}\nForward it; they send /start {code} (or type "
        "the code) to register. It is valid for {days} day and works once. A sub-account sees "
        "only the cases it opens itself.",
        "Here is an invitation for {name}: {code}\nForward it; they send /start {code} (or type "
        "the code) to register. It is valid for {days} days and works once. A sub-account sees "
        "only the cases it opens itself.", "days"),
    "link.code": Plural(
        "To use this account on another channel (Telegram or a Slack DM), send there: "
        "/link {code}\n(in a Slack DM: link {code}). The code works once, for {minutes} minute.",
        "To use this account on another channel (Telegram or a Slack DM), send there: "
        "/link {code}\n(in a Slack DM: link {code}). The code works once, for {minutes} minutes.",
        "minutes"),
    "web.link": (
        "🌐 Your cases in the browser: {link}\nThis login link works once, within {minutes} "
        "minutes. Send /web again for a new one."
    ),
    "web.link_case": (
        "🌐 {number} in the browser: {link}\nThis login link works once, within {minutes} "
        "minutes. Send /web again for a new one."
    ),
    "web.off": "The browser portal isn't available here; your cases are all in this chat (/cases).",
    "button.view_in_browser": "🌐 View in browser",
    "link.usage": (
        "To link this chat to your seller account, send /link in a chat where you are already "
        "registered, then /link CODE here."
    ),
    "link.already": "This chat already belongs to {name}; nothing to link.",
    "link.invalid": (
        "That link code doesn't work (wrong, used or older than 15 minutes). Send /link again "
        "in your registered chat for a new one."
    ),
    "link.done": "Linked! This chat now belongs to {name}: your cases are here too.",
    # Issue 12 — invites (end)
    # Issue 12 — setup (the Telegram command menu and the bot's profile)
    "menu.help": "What I can do for you",
    "menu.new": "Report a new issue",
    "menu.cases": "Your cases and their status",
    "menu.case": "One case, e.g. /case {prefix}-000012",
    "menu.language": "Choose your language (English / 简体中文)",
    "menu.cancel": "Stop what we are doing",
    "menu.link": "Use your account in another chat",
    "menu.invite": "Invite a colleague, e.g. /invite Warehouse team",
    "menu.email": "Email me when a reply waits, e.g. /email you@example.com",
    "menu.web": "Open your cases in a browser",
    "bot.description": (
        "{brand} seller support. Tell me what is wrong with an order, a payment, a listing or "
        "your account: I open a case, and our support team answers you right here."
    ),
    "bot.short_description": "{brand} seller support: open a case and get answers here.",
    # Issue 12 — setup (end)
    # Issue 12 — case controls (agents; the digest's credits)
    "thread.assigned": "👤 Assigned to {assignee} by {actor}",
    "thread.unassigned": "👤 Unassigned by {actor}",
    "thread.round_robin_assigned": "👤 Assigned round robin to",
    "thread.round_robin_nobody": (
        "👤 Not assigned automatically: nobody in the agents' group is available right now "
        "({count} members, all away)"
    ),
    "thread.escalated": "⏫ Still no first response at the warning time: escalated to",
    "thread.escalation_nobody": (
        "⏫ Still no first response at the warning time, and nobody else in the agents' group "
        "is available to escalate to"
    ),
    "thread.assign_failed": "👤 Could not assign automatically: {error}",
    "agent_message_deleted": "🗑 This message was deleted.",
    "thread.deleted_for_seller": "🗑 Deleted for the seller too",
    "thread.withdrawn": "🗑 Withdrawn before it reached the seller",
    "thread.not_deleted": "⚠️ Could not delete it for the seller: {reason}",
    "delete.in_flight": "it was being delivered at that moment",
    "delete.cannot": "{channel} cannot take a message back",
    "delete.too_old": (
        "it was sent more than {hours} hours ago, and {channel} only lets the bot delete "
        "newer messages"
    ),
    "sched.digest_assignee": " · 👤 {assignee}",
    "sched.digest_unassigned": " · 👤 nobody yet",
    "sched.digest_first_response_by": " · first reply {agent}",
    "sched.digest_resolved_by": "Resolved by: {credits}",
    "sched.digest_resolved_count": "{agent} {count}",
    # Issue 12 — case controls (end)
    # Issue 15 — email notifications ({link} is filled in by the email sender)
    "email.usage": (
        "Send /email followed by your address (e.g. /email you@example.com) to get email "
        "when an agent's reply waits for you; /email off stops it.{current}"
    ),
    "email.current": "\nNow: {address}.",
    "email.pending": "\nWaiting for confirmation: {address}.",
    "email.invalid": "“{text}” is not an email address. Try /email you@example.com.",
    "email.link_sent": (
        "📧 I sent a confirmation link to {address}. Open it within {hours} hours to get "
        "notifications there."
    ),
    "email.removed": "📧 Done: no more email from us.",
    "email.already": "📧 Notifications already go to {address}.",
    "email.off": "Email notifications are not available here; I'll keep writing to you in this chat.",
    "email.nothing_to_remove": "You have no email address with us.",
    "email.verify_subject": "Confirm your email address for seller support",
    "email.verify_body": (
        "Hello {name},\n\nPlease confirm that you want seller support notifications at this "
        "address by opening this link within {hours} hours:\n\n{link}\n\nIf you did not ask "
        "for this, ignore this mail: nothing changes."
    ),
    "email.reply_subject": "A reply is waiting for you on {number}",
    "email.reply_body": Plural(
        "Hello {name},\n\nAn agent replied on {number} ({title}):\n\n{reply}\n\nAnswer in "
        "the chat, or open the case in your browser (the link works once):\n{link}",
        "Hello {name},\n\n{count} agent replies wait for you on {number} ({title}). The "
        "latest:\n\n{reply}\n\nAnswer in the chat, or open the case in your browser (the "
        "link works once):\n{link}",
    ),
    "email.page_title": "Email notifications",
    "email.page_hint": (
        "Optional. We write when an agent's reply has waited unread for {minutes} minutes, and "
        "when a resolved case can be rated."
    ),
    "email.page_in_use": "Notifications go to {address}.",
    "email.page_none": "No address yet: you get no email.",
    "email.page_pending": "We sent a confirmation link to {address}. Open it to use that address.",
    "email.page_address": "Email address",
    "email.page_send_link": "Send confirmation link",
    "email.page_stop": "Stop emails",
    "email.page_sent": "Confirmation link sent. Open it from your mailbox.",
    "email.page_removed": "Done: you get no more email from us.",
    "email.page_invalid": "“{text}” is not an email address.",
    "email.page_expired_form": "This page was out of date; please try again.",
    "email.page_log_in": "Please log in: send /web in the chat for a login link.",
    "email.verified_title": "Email address",
    "email.verified": "Email address confirmed",
    "email.verified_text": (
        "We will write to {address} when an agent's reply waits for you and when a case is ready "
        "for your rating."
    ),
    "email.link_expired": "This link has expired",
    "email.link_expired_text": Plural(
        "Confirmation links work for {hours} hour. Send {command} in the chat, or give the "
        "address again on the portal, and we will mail a new link.",
        "Confirmation links work for {hours} hours. Send {command} in the chat, or give the "
        "address again on the portal, and we will mail a new link.", "hours"),
    "email.link_broken": "This link does not work",
    "email.link_broken_text": (
        "It was used already, replaced by a newer one, or mistyped. Send {command} in the chat, "
        "or give the address on the portal, to get a new link."
    ),
    "email.evaluation_subject": "How did we do on {number}?",
    "email.evaluation_body": (
        "Hello {name},\n\n{number} ({title}) is resolved. Please rate it until {until}: "
        "open the case (the link works once) or answer the rating question in the chat.\n"
        "{link}\n\nIf something is still wrong, just reply in the chat and the case goes back "
        "in progress."
    ),
}


def for_sellers(key: str) -> bool:
    """Whether the text of ``key`` is shown to sellers (and so translated)."""
    return not key.startswith(AGENT_KEYS)


def t(key: str, **values: Any) -> str:
    """The text for ``key`` with ``values`` filled in, in the current seller's language
    (English for agents' texts)."""
    text = CATALOGUE[key]
    language = i18n.current_language() if for_sellers(key) else i18n.ENGLISH
    if isinstance(text, Plural):
        chosen = i18n.translate_plural(key, text.one, text, _count(values.get(text.counter)),
                                       language)
    else:
        chosen = i18n.translate(key, text, language)
    return chosen.format(**values)


def _count(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 2  # not a number ("?"): the plural form reads right


def case_type_label(case_type: str | None) -> str:
    """A case type as the seller reads it ("Other" for none)."""
    if case_type not in CASE_TYPE_LABELS:
        return t("case_type.untyped")
    return i18n.translate(f"label.case_type.{case_type}", CASE_TYPE_LABELS[str(case_type)])


def status_label(status: str) -> str:
    """A status as the seller reads it (rule 10)."""
    english = STATUS_LABELS.get(status, status)
    return i18n.translate(f"label.status.{status}", english) if status in STATUS_LABELS \
        else english


def evaluation_label(level: str) -> str:
    """An evaluation level as the seller reads it (rule 6)."""
    english = EVALUATION_LABELS.get(level, level)
    return i18n.translate(f"label.evaluation.{level}", english) if level in EVALUATION_LABELS \
        else english


def case_title(case: Case) -> str:
    """The case's title as the seller reads it: its type and order, or when it was opened.
    (The stored title is the agents' English one.)"""
    if case.case_type is None:
        title = t("case.title_untyped", when=i18n.when(case.created_at, year=True))
    else:
        label = case_type_label(case.case_type)
        title = f"{label} · {case.order_id}" if case.order_id else label
    # The subject (an ASIN, a SKU, the seller's own words) as the stored title has it.
    return f"{title} · {label_of(case.subject)}"[:200] if case.subject else title


def label_sources() -> dict[str, str]:
    """Every translated label by its catalogue context (for the translators' template)."""
    labels = {f"label.case_type.{k}": v for k, v in CASE_TYPE_LABELS.items()}
    labels.update({f"label.status.{k}": v for k, v in STATUS_LABELS.items()})
    labels.update({f"label.evaluation.{k}": v for k, v in EVALUATION_LABELS.items()})
    return labels


def register(texts: dict[str, str]) -> None:
    """Add texts to the catalogue (used by engine modules that own a group of texts)."""
    clash = set(texts) & set(CATALOGUE)
    if clash:
        raise KeyError(f"text keys defined twice: {sorted(clash)}")
    CATALOGUE.update(texts)
