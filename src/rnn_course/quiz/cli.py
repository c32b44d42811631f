"""`rnn-course quiz ...`: take a set in the terminal, list sets, check and export the bank, show progress."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from rnn_course.quiz.bank import load_bank
from rnn_course.quiz.engine import Question, Result, Session, belief, letter

COMMANDS = ("list", "check", "export", "progress", "stats", "review")
TOPIC_NAMES = {
    "syntax": "nn.RNN syntax",
    "shapes": "shapes",
    "hidden_state": "hidden state",
    "packing": "packing",
    "using_rnn": "using an RNN",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "quiz",
        help="take a quiz set, or list, check and export the quiz bank",
        description="rnn-course quiz practice|test|<set>  ·  quiz review  ·  quiz list  ·  "
        "quiz check [PATHS]  ·  quiz export --format json|gift|moodle-xml [--variants N]  ·  "
        "quiz progress  ·  quiz stats FILE... [--plot PNG]",
    )
    parser.add_argument(
        "target",
        nargs="?",
        default="practice",
        help="a set name, or review, list, check, export, progress, stats",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="bank files or folders (check, export; default: shipped); progress files (stats)",
    )
    parser.add_argument(
        "--plot", type=Path, metavar="PNG", help="stats: also draw facility vs discrimination"
    )
    parser.add_argument(
        "--answers",
        nargs="+",
        metavar="ANSWER",
        help="answer non-interactively, one per question "
        "in the order asked: a letter ('B'), letters for multi-select ('AC'), or a choice's text",
    )
    parser.add_argument("--seed", type=int, help="fix the variants and the choice order")
    parser.add_argument(
        "--learner",
        default=None,
        help="whose progress (default: RNN_COURSE_LEARNER, the hub user, or your user name)",
    )
    parser.add_argument(
        "--format", choices=("json", "gift", "moodle-xml"), default="json", help="export format"
    )
    parser.add_argument(
        "--variants",
        type=int,
        default=1,
        metavar="N",
        help="gift, moodle-xml: N verified draws of each template, in a sub-category of their own",
    )
    parser.add_argument("--output", "-o", type=Path, help="export to this file instead of standard output")
    parser.add_argument(
        "--bank", type=Path, help="take quizzes from this bank folder instead of the shipped one"
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    try:
        if args.target == "check":
            return check(args.paths)
        if args.target == "stats":
            return stats(args.paths, args.bank, args.plot)
        paths = args.paths or ([args.bank] if args.bank else None)
        if args.target == "export":
            return export(paths, args.format, args.output, args.variants)
        if args.target == "list":
            return list_sets(paths)
        if args.target == "progress":
            return show_progress(args.learner)
        return take(args)
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130


def check(paths: list[Path]) -> int:
    """Validate the bank and run every verification; print `file:line: problem` lines; non-zero if any."""
    from rnn_course.quiz.check import check_bank

    bank = load_bank(paths or None)
    problems = check_bank(bank)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"quiz check: {len(problems)} problem(s) in the bank", file=sys.stderr)
        return 1
    unverified = [item for item in bank.items.values() if item.unverified]
    print(
        f"quiz check: {len(bank.items)} items, {len(bank.sets)} sets, every verification passed "
        f"({len(bank.items) - len(unverified)} keys checked against torch, {len(unverified)} conceptual)"
    )
    for item in unverified:
        print(f"  unverified: {item.id}: {item.unverified}")
    return 0


def _usable_bank(paths):
    bank = load_bank(paths)
    if bank.problems:
        for problem in bank.problems:
            print(problem, file=sys.stderr)
        print("The quiz bank has problems; run `rnn-course quiz check` for the full list.", file=sys.stderr)
        return None
    return bank


def export(paths, fmt: str, output: Path | None, variants: int = 1) -> int:
    from rnn_course.quiz.export import EXPORTERS

    if variants < 1 or (variants > 1 and fmt == "json"):
        print(
            "rnn-course quiz export: --variants N needs N >= 1 and --format gift or moodle-xml",
            file=sys.stderr,
        )
        return 2
    bank = _usable_bank(paths)
    if bank is None:
        return 1
    text = EXPORTERS[fmt](bank) if fmt == "json" else EXPORTERS[fmt](bank, variants)
    if output:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {len(bank.items)} items to {output}")
    else:
        sys.stdout.write(text)
    return 0


def list_sets(paths) -> int:
    bank = _usable_bank(paths)
    if bank is None:
        return 1
    for name, quiz_set in bank.sets.items():
        pool = f" (drawn from {len(quiz_set.items)})" if quiz_set.draw else ""
        print(f"{name:10} {quiz_set.size:3} questions  {quiz_set.title}{pool}")
    return 0


def show_progress(learner: str | None) -> int:
    from rnn_course.quiz.progress import Store, default_learner

    store = Store()
    learner = learner or default_learner()
    report = store.report(learner)
    for notice in store.notices:
        print(notice, file=sys.stderr)
    if not report["topics"]:
        print(f"No quiz attempts yet for {learner}. Try `rnn-course quiz practice`.")
        return 0
    print(f"Progress of {learner} (first tries answered right):")
    for topic, (right, total) in sorted(report["topics"].items()):
        bar = "#" * round(10 * right / total)
        name = TOPIC_NAMES.get(topic, topic)
        print(f"  {name:16} {right:3} / {total:<3} {bar:10} {100 * right / total:4.0f}%")
    bank = load_bank()
    if report["misconceptions"]:
        print("Misconceptions met most often (what you may have thought):")
        for key, count in report["misconceptions"][:5]:
            print(f"  {count} x  {bank.misconceptions.get(key, key)}")
    from rnn_course.quiz.review import cards, outlook

    for line in outlook(cards(store.attempts(learner), bank), bank=bank):
        print(line)
    return 0


def stats(paths: list[Path], bank_path: Path | None, plot_path: Path | None) -> int:
    """Item statistics from progress files: a table, flags, and optionally a figure."""
    from rnn_course.quiz.stats import item_statistics, plot, read_attempts, table

    if not paths:
        print("rnn-course quiz stats: give one or more progress files", file=sys.stderr)
        return 2
    bank = _usable_bank([bank_path] if bank_path else None)
    if bank is None:
        return 1
    try:
        attempts = read_attempts(paths)
    except ValueError as error:
        print(f"rnn-course quiz stats: {error}", file=sys.stderr)
        return 1
    from rnn_course.quiz.stats import shared_names

    for warning in shared_names(paths):  # one name in several files: on a hub, likely several learners
        print(f"rnn-course quiz stats: warning: {warning}", file=sys.stderr)
    results = item_statistics(attempts, bank)
    print(table(results, bank))
    if plot_path:
        print(f"wrote {plot(results, plot_path)}")
    return 0


# ---------------------------------------------------------------------------------------------------------
# Taking a set in the terminal.


def show(question: Question, number: int, total: int, out=None) -> None:
    out = out or sys.stdout
    item = question.item
    again = " (again)" if question.retry else ""
    print(f"\n[{number}/{total}]{again} {item.topic.replace('_', ' ')} · {item.difficulty}", file=out)
    print(textwrap.indent(question.stem.strip(), "  "), file=out)
    if question.code.strip():
        print(textwrap.indent(question.code.rstrip(), "    | "), file=out)
    if question.free:
        example = "(2, 4, 20)" if question.item.response == "shape" else "0.25"
        print(f"  (type a {question.item.response}, e.g. {example})", file=out)
    if question.multi:
        print("  (select every right choice, e.g. AC)", file=out)
    for label in question.labels():
        print(f"  {label}", file=out)


def solution(question: Question, out=None) -> None:
    """The answer, the worked solution and the lesson section."""
    out = out or sys.stdout
    right = (
        question.key
        if question.free
        else ", ".join(f"{letter(i)}. {question.options[i].text}" for i in sorted(question.correct_indices))
    )
    print(f"  The answer: {right}", file=out)
    print("  Solution:", file=out)
    for step, text in enumerate(question.solution, 1):
        print(f"    {step}. {text}", file=out)
    lesson = question.item.lesson
    print(f'  Read again: {lesson["notebook"]}, section "{lesson["section"]}"', file=out)


def explain(result: Result, bank, out=None) -> None:
    """The verdict. A first miss keeps the answer back, since the question comes back later; `s` shows it."""
    out = out or sys.stdout
    question = result.question
    if result.correct:
        print("  Correct.", file=out)
        return
    if result.credit > 0:
        print(f"  Partly right: {result.credit:g} of 1 mark.", file=out)
    else:
        print("  Not quite.", file=out)
    for option in result.wrong_picked:
        print(f"  - {option.text}: {option.feedback}", file=out)
        print(f"    {belief(bank, option.misconception)}", file=out)
    missed = len(result.missed) if question.multi else 0
    if missed:
        print(f"  - you left out {missed} right choice{'s' if missed > 1 else ''}", file=out)
    if question.retry:
        solution(question, out)
    else:
        print("  This question comes back later in the session.", file=out)


def _ask(question: Question) -> set[int] | str | None:
    """Prompt until a valid answer; 'h' hint, 'q' quit (returns None). The solution comes after an answer."""
    while True:
        try:
            reply = input("  Your answer (h: hint, q: quit): ").strip()
        except EOFError:
            return None
        if reply.lower() == "q":
            return None
        if reply.lower() == "h":
            print(f"  Hint: {question.hint.strip()}")
            continue
        if reply.lower() == "s":
            print("  The worked solution comes after your answer.")
            continue
        try:
            return question.parse(reply)
        except ValueError as error:
            print(f"  {error}")


def _after(question: Question, result: Result) -> bool:
    """After the verdict: Enter goes on, 's' shows the worked solution, 'q' quits (returns False)."""
    shown = result.correct is False and question.retry  # explain() already showed it
    while True:
        offer = "" if shown else "s: solution, "
        try:
            reply = input(f"  Enter: next question, {offer}q: quit: ").strip().lower()
        except EOFError:
            return False
        if reply == "q":
            return False
        if reply == "s" and not shown:
            solution(question)
            shown = True
            continue
        if reply == "":
            return True


def take(args) -> int:
    from rnn_course.quiz.progress import Store, default_learner

    bank = _usable_bank([args.bank] if args.bank else None)
    if bank is None:
        return 1
    if args.target not in bank.sets and args.target != "review":
        print(
            f"rnn-course quiz: no set named '{args.target}'. Sets: {', '.join(bank.sets)}; "
            f"commands: {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    store = Store()
    learner = args.learner or default_learner()
    try:
        attempt = store.next_attempt(learner, args.target)
    except OSError as error:  # an unusable data folder costs the progress record, not the quiz
        print(f"Progress will not be saved: {error}", file=sys.stderr)
        store, attempt = None, 1
    if args.target == "review":
        from rnn_course.quiz.review import review_session

        session, lines = review_session(bank, learner, store, attempt, seed=args.seed)
        if session is None:
            print("Nothing is due for review.\n" + "\n".join(lines))
            return 0
    else:
        session = Session(bank, args.target, learner=learner, attempt=attempt, seed=args.seed, store=store)
    answers = list(args.answers) if args.answers is not None else None
    told = _tell(store.notices if store else [])  # a damaged progress file is told on the first screen
    print(f"{session.title}: {session.total} questions")
    number = 0
    stopped = False
    while not session.done:
        question = session.current
        number += 1
        show(question, session.items.index(question.item) + 1, session.total)
        if answers is not None:
            if not answers:
                print("  (no answer given; stopping)")
                break
            token = answers.pop(0)
            try:
                selected = question.parse(token)
            except ValueError as error:
                print(f"rnn-course quiz: answer {number}: {error}", file=sys.stderr)
                return 2
            shown = selected if question.free else ", ".join(letter(i) for i in sorted(selected))
            print(f"  Your answer: {shown}")
        else:
            selected = _ask(question)
            if selected is None:
                stopped = True
                break
        result = session.answer(selected)
        explain(result, bank)
        if answers is None and not _after(question, result):
            session.advance()
            stopped = not session.done
            break
        session.advance()
    _tell([n for n in (store.notices if store else []) + session.notices if n not in told])
    if stopped:
        print(f"\nStopped after {len(session.first_results)} of {session.total} questions.")
    print("\n" + session.summary(stopped=stopped))
    if store is not None and not stopped:
        from rnn_course.quiz.review import cards, next_review

        try:
            line = next_review(cards(store.attempts(learner), bank), "`rnn-course quiz review`")
        except OSError:
            line = ""
        if line:
            print(line)
    return 0


def _tell(notices: list[str]) -> list[str]:
    """Print notes for the learner on standard error, after what standard output holds so far."""
    sys.stdout.flush()
    for notice in notices:
        print(f"Note: {notice}", file=sys.stderr)
    sys.stderr.flush()
    return list(notices)
