// Messages for the person: errors in words (the server's message), and
// confirmations of what just happened. Announced by screen readers.
import { useEffect, useState } from "hono/jsx";

interface Notice {
  id: number;
  text: string;
  error: boolean;
}

let push: ((n: Notice) => void) | null = null;
let counter = 0;

export function notify(text: string, error = false): void {
  push?.({ id: ++counter, text, error });
}

export function Notices() {
  const [list, setList] = useState<Notice[]>([]);
  useEffect(() => {
    push = (n) => {
      setList((l) => [...l.slice(-3), n]);
      // Errors stay until dismissed; confirmations fade after a while.
      if (!n.error) setTimeout(() => setList((l) => l.filter((x) => x.id !== n.id)), 6000);
    };
    return () => {
      push = null;
    };
  }, []);
  return (
    <div class="notices" role="status" aria-live="polite">
      {list.map((n) => (
        <div
          key={n.id}
          class={n.error ? "notice error" : "notice"}
          role={n.error ? "alert" : undefined}
        >
          <span>{n.text}</span>
          <button
            type="button"
            class="icon"
            aria-label="Dismiss"
            onClick={() => setList((l) => l.filter((x) => x.id !== n.id))}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
