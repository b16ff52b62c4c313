// Confirmations and questions as modal <dialog>s (focus is trapped and
// Escape cancels, as the platform does it), asked with a promise:
//   const name = await ask({ title: "New folder", input: "" });
import { useEffect, useRef, useState } from "hono/jsx";

export interface Question {
  title: string;
  message?: string;
  /** With a value: a text field, prefilled; the answer is what was typed. */
  input?: string;
  inputLabel?: string;
  confirm: string;
  danger?: boolean;
}

type Pending = Question & { resolve: (answer: string | null) => void };

let show: ((p: Pending) => void) | null = null;

/** Resolves with the typed text (or "" without a field) on confirm, null on cancel. */
export function ask(q: Question): Promise<string | null> {
  return new Promise((resolve) => {
    if (!show) return resolve(null);
    show({ ...q, resolve });
  });
}

export function DialogHost() {
  const [pending, setPending] = useState<Pending | null>(null);
  const [value, setValue] = useState("");
  const ref = useRef<HTMLDialogElement>(null);
  const field = useRef<HTMLInputElement>(null);

  useEffect(() => {
    show = (p) => {
      setValue(p.input ?? "");
      setPending(p);
    };
    return () => {
      show = null;
    };
  }, []);

  useEffect(() => {
    const d = ref.current;
    if (!d || !pending) return;
    if (!d.open) d.showModal();
    if (field.current) {
      field.current.focus();
      field.current.select();
    }
  }, [pending]);

  const close = (answer: string | null) => {
    ref.current?.close();
    pending?.resolve(answer);
    setPending(null);
  };

  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby="dialog-title"
      onCancel={(e: Event) => {
        e.preventDefault();
        close(null);
      }}
    >
      {pending && (
        <form
          method="dialog"
          onSubmit={(e: Event) => {
            e.preventDefault();
            close(pending.input !== undefined ? value.trim() : "");
          }}
        >
          <h2 id="dialog-title">{pending.title}</h2>
          {pending.message && <p>{pending.message}</p>}
          {pending.input !== undefined && (
            <label class="field">
              <span>{pending.inputLabel ?? "Name"}</span>
              <input
                ref={field}
                type="text"
                value={value}
                required
                onInput={(e: Event) => setValue((e.target as HTMLInputElement).value)}
              />
            </label>
          )}
          <div class="actions">
            <button type="button" onClick={() => close(null)}>
              Cancel
            </button>
            <button type="submit" class={pending.danger ? "danger" : "primary"}>
              {pending.confirm}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
