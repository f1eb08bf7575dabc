// Virtualised panels: a panel's content is mounted only while the panel is on (or near) the screen, so a
// workspace with hundreds of media panels holds a few dozen live ones. An unmounted panel keeps its height.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export function Lazy({ height, children, testid }: { height: number; children: () => ComponentChildren; testid?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === "undefined") {
      setVisible(true);
      return;
    }
    const io = new IntersectionObserver((entries) => setVisible(entries.some((e) => e.isIntersecting)), { rootMargin: "400px" });
    io.observe(el);
    return () => io.disconnect();
  }, []);
  return (
    <div ref={ref} class="media-lazy" style={{ minHeight: `${height}px` }} data-testid={testid} data-mounted={visible ? "true" : "false"}>
      {visible ? children() : null}
    </div>
  );
}
