// Pages with unsaved edits say so here; the shell asks before leaving them.
import { createContext, useContext, useMemo, useRef, useState, type ReactNode } from "react";

interface UnsavedChanges {
  dirty: boolean;
  setDirty: (dirty: boolean) => void;
}

const Context = createContext<UnsavedChanges>({ dirty: false, setDirty: () => {} });

export function UnsavedChangesProvider({ children }: { children: ReactNode }) {
  const [dirty, setDirtyState] = useState(false);
  const last = useRef(false);
  const value = useMemo(
    () => ({
      dirty,
      setDirty: (d: boolean) => {
        if (last.current !== d) {
          last.current = d;
          setDirtyState(d);
        }
      },
    }),
    [dirty],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useUnsavedChanges(): UnsavedChanges {
  return useContext(Context);
}
