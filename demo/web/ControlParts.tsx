/**
 * The pieces of a control: its title (the visible label of its input, or of its group of buttons), its note,
 * a number input that refuses values out of range with a message, and outcome lines that say when they
 * happened and disappear once the state they describe is over.
 */
import { useEffect, useId, useState, type ReactNode } from 'react';
import type { SessionEngine } from '../../src/index.js';
import { TimeAgo, useNow } from '../../src/viewer/time.js';
import { isWithin, type Range } from '../settingLimits.js';
import type { MachineSnapshot } from './session.js';

export interface Outcome {
  text: string;
  at: number;
  /** Whether the state the line describes still holds; once false, the line is gone for good. */
  lasts: (snapshot: MachineSnapshot) => boolean;
}

function OutcomeLine({ outcome }: { outcome: Outcome }) {
  const now = useNow(1000);
  return (
    <div className="outcome" data-testid="outcome">
      {outcome.text} · <TimeAgo at={outcome.at} now={now} />
    </div>
  );
}

/** One outcome per control, each pruned as soon as its state is over. */
export function useOutcomes(actor: SessionEngine['actor']) {
  const [outcomes, setOutcomes] = useState<Record<string, Outcome>>({});
  useEffect(() => {
    const subscription = actor.subscribe((snapshot) =>
      setOutcomes((all) => {
        const kept = Object.entries(all).filter(([, outcome]) => outcome.lasts(snapshot));
        return kept.length === Object.keys(all).length ? all : Object.fromEntries(kept);
      }),
    );
    return () => subscription.unsubscribe();
  }, [actor]);
  const report = (control: string, text: string, lasts: Outcome['lasts']) =>
    setOutcomes((all) => {
      const { [control]: _replaced, ...others } = all;
      return lasts(actor.getSnapshot()) ? { ...others, [control]: { text, at: Date.now(), lasts } } : others;
    });
  return { outcomes, report };
}

export function Control(props: { title: string; inputId?: string; note: ReactNode; outcome?: Outcome; children: ReactNode }) {
  const { title, inputId, note, outcome, children } = props;
  const titleId = useId();
  return (
    <div className="control" role={inputId ? undefined : 'group'} aria-labelledby={inputId ? undefined : titleId}>
      <div className="row">
        {inputId ? <label htmlFor={inputId}>{title}</label> : <span className="title" id={titleId}>{title}</span>}
        {children}
      </div>
      <div className="note" id={inputId ? `${inputId}-note` : undefined}>
        {note}
      </div>
      {outcome ? <OutcomeLine outcome={outcome} /> : null}
    </div>
  );
}

/** A number input (whole numbers within `range`) that sends each accepted value; anything else is refused. */
export function NumberSetting(props: { id: string; what: string; unit: string; range: Range; value: number; onValue: (value: number) => void }) {
  const { id, what, unit, range, value, onValue } = props;
  const [text, setText] = useState(String(value));
  const accepted = text.trim() !== '' && isWithin(Number(text), range);
  return (
    <>
      <input
        id={id}
        type="number"
        data-testid={id}
        min={range.min}
        max={range.max}
        step={1}
        value={text}
        aria-invalid={!accepted}
        aria-describedby={accepted ? `${id}-note` : `${id}-refused ${id}-note`}
        onChange={(event) => {
          setText(event.target.value);
          const next = Number(event.target.value);
          if (event.target.value.trim() !== '' && isWithin(next, range)) onValue(next);
        }}
      />
      {accepted ? null : (
        <div className="refused" id={`${id}-refused`} role="alert" data-testid={`${id}-refused`}>
          Refused: {what} is a whole number from {range.min} to {range.max} {unit}. The server keeps {value} {unit}.
        </div>
      )}
    </>
  );
}
