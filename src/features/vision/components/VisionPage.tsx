import { Alert, Badge, Button, Card, Group, Image, Paper, Stack, Text, TextInput, Textarea, Title } from "@mantine/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { useQueryClient } from "@tanstack/react-query";
import { memo, useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { cancelGeneration } from "../../../lib/generate";
import { formatMs, formatRate } from "../../../lib/format";
import { errorMessage } from "../../../lib/ipc";
import type { VisionDescription } from "../../../bindings";
import {
  describeImage,
  newItem,
  pickImages,
  previewImages,
  saveText,
  useVisionPage,
  visionQueryKey,
  type VisionItem,
} from "../api/vision";

/** Drop images (or pick them), get a description of each from the vision use case's model. */
export function VisionPage() {
  const { t } = useTranslation();
  const page = useVisionPage();
  const client = useQueryClient();
  const [items, setItems] = useState<VisionItem[]>([]);
  const [prompt, setPrompt] = useState<string | null>(null);
  const [hover, setHover] = useState(false);
  const [pathText, setPathText] = useState("");
  const [running, setRunning] = useState(false);
  const stopAll = useRef(false);
  const promptText = prompt ?? page.data?.default_prompt ?? "";

  const update = (key: string, patch: Partial<VisionItem>) =>
    setItems((list) => list.map((i) => (i.key === key ? { ...i, ...patch } : i)));

  // Streamed text is applied at most every 100 ms: a re-render per token would
  // make a long description crawl and take the CPU the model needs.
  const pending = useRef(new Map<string, string>());
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const flush = useCallback(() => {
    flushTimer.current = null;
    const batch = new Map(pending.current);
    pending.current.clear();
    if (batch.size === 0) return;
    setItems((list) => list.map((i) => (batch.has(i.key) ? { ...i, text: i.text + batch.get(i.key)! } : i)));
  }, []);
  const append = useCallback(
    (key: string, text: string) => {
      pending.current.set(key, (pending.current.get(key) ?? "") + text);
      if (flushTimer.current == null) flushTimer.current = setTimeout(flush, 100);
    },
    [flush],
  );

  const add = useCallback(async (paths: string[]) => {
    const fresh = paths.filter((p) => p.trim() !== "").map((p) => newItem(p.trim()));
    if (fresh.length === 0) return;
    setItems((list) => [...list, ...fresh]);
    const previews = await previewImages(fresh.map((i) => i.path));
    setItems((list) =>
      list.map((item) => {
        const index = fresh.findIndex((f) => f.key === item.key);
        const preview = index >= 0 ? previews[index] : undefined;
        if (!preview) return item;
        return { ...item, preview, state: preview.error ? "invalid" : "ready", error: preview.error };
      }),
    );
  }, []);

  // Files dropped on the window (Tauri's native drag and drop gives paths).
  useEffect(() => {
    let unlisten: (() => void | Promise<void>) | undefined;
    let gone = false;
    const stopListening = (u: () => void | Promise<void>) => {
      // Unlistening can fail once the window is gone; nothing is left to clean then.
      void (async () => {
        try {
          await u();
        } catch {
          /* already gone */
        }
      })();
    };
    try {
      void getCurrentWebview()
        .onDragDropEvent((event) => {
          const p = event.payload;
          if (p.type === "enter" || p.type === "over") setHover(true);
          else if (p.type === "leave") setHover(false);
          else if (p.type === "drop") {
            setHover(false);
            void add(p.paths);
          }
        })
        .then((u) => (gone ? stopListening(u) : (unlisten = u)))
        .catch(() => undefined);
    } catch {
      // Outside the app window (tests): no native drag and drop.
    }
    return () => {
      gone = true;
      if (unlisten) stopListening(unlisten);
    };
  }, [add]);

  const pick = async () => {
    // The back end opens the native dialog and hands back the chosen paths.
    try {
      const picked = await pickImages();
      if (picked.length > 0) void add(picked);
    } catch {
      // The dialog could not open: nothing was chosen.
    }
  };

  const describeAll = async () => {
    setRunning(true);
    stopAll.current = false;
    const todo = items.filter((i) => i.state === "ready" || i.state === "failed" || i.state === "cancelled");
    for (const item of todo) update(item.key, { state: "queued", text: "", error: null });
    for (const item of todo) {
      if (stopAll.current) {
        update(item.key, { state: "ready" });
        continue;
      }
      const requestId = crypto.randomUUID();
      update(item.key, { state: "running", requestId });
      try {
        const summary = await describeImage(
          { request_id: requestId, use_case: null, model: null, prompt: promptText, image_path: item.path, params: null },
          (event) => {
            if (event.kind === "token") append(item.key, event.text);
          },
        );
        pending.current.delete(item.key);
        update(item.key, { state: summary.status === "cancelled" ? "cancelled" : "done", summary, text: summary.text });
      } catch (e) {
        flush();
        update(item.key, { state: "failed", error: errorMessage(e) });
      }
    }
    setRunning(false);
    void client.invalidateQueries({ queryKey: visionQueryKey });
  };

  const stop = () => {
    stopAll.current = true;
    for (const i of items) if (i.state === "running" && i.requestId) void cancelGeneration(i.requestId);
  };

  const remove = useCallback((key: string) => setItems((l) => l.filter((i) => i.key !== key)), []);
  const describable = items.some((i) => i.state === "ready" || i.state === "failed" || i.state === "cancelled");

  return (
    <Stack data-testid="vision-page" gap="lg" maw={960}>
      <Title order={2}>{t("vision.title")}</Title>
      {page.data && (
        <Group gap="xs">
          <Text size="sm" c="dimmed">
            {t("vision.model")}
          </Text>
          <Badge variant="light" data-testid="vision-model">
            {page.data.model}
          </Badge>
        </Group>
      )}
      {page.data?.problem && (
        <Alert color="yellow" data-testid="vision-problem">
          {page.data.problem}
        </Alert>
      )}
      {page.error && <Alert color="red">{errorMessage(page.error)}</Alert>}
      <Paper
        withBorder
        p="xl"
        data-testid="vision-dropzone"
        data-hover={hover ? "true" : "false"}
        style={{ borderStyle: "dashed", borderWidth: 2, borderColor: hover ? "var(--mantine-color-blue-6)" : undefined, textAlign: "center" }}
      >
        <Text fw={500}>{t(hover ? "vision.dropNow" : "vision.drop")}</Text>
        <Group justify="center" mt="sm">
          <Button variant="default" data-testid="vision-pick" onClick={() => void pick()}>
            {t("vision.pick")}
          </Button>
        </Group>
        <Group mt="sm" justify="center" wrap="nowrap">
          <TextInput
            data-testid="vision-path"
            placeholder={t("vision.pathPlaceholder")}
            value={pathText}
            onChange={(e) => setPathText(e.currentTarget.value)}
            style={{ flex: 1, maxWidth: 480 }}
          />
          <Button
            variant="default"
            data-testid="vision-path-add"
            disabled={pathText.trim() === ""}
            onClick={() => {
              void add([pathText]);
              setPathText("");
            }}
          >
            {t("vision.addPath")}
          </Button>
        </Group>
      </Paper>
      <Textarea
        data-testid="vision-prompt"
        label={t("vision.prompt")}
        autosize
        minRows={2}
        value={promptText}
        onChange={(e) => setPrompt(e.currentTarget.value)}
      />
      <Group>
        <Button data-testid="vision-describe" disabled={!describable || running} loading={running} onClick={() => void describeAll()}>
          {t("vision.describe")}
        </Button>
        <Button data-testid="vision-stop" variant="default" disabled={!running} onClick={stop}>
          {t("vision.stop")}
        </Button>
        <Button
          data-testid="vision-clear"
          variant="subtle"
          disabled={running || items.length === 0}
          onClick={() => setItems([])}
        >
          {t("vision.clear")}
        </Button>
      </Group>
      <Stack gap="sm" data-testid="vision-items">
        {items.map((item) => (
          <ItemCard key={item.key} item={item} onRemove={remove} busy={running} />
        ))}
      </Stack>
      <History />
    </Stack>
  );
}

const ItemCard = memo(function ItemCard({ item, onRemove, busy }: { item: VisionItem; onRemove: (key: string) => void; busy: boolean }) {
  const { t } = useTranslation();
  const [saved, setSaved] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const p = item.preview;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(item.text);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  const saveAs = async () => {
    const stem = (p?.name ?? "image").replace(/\.[^.]+$/, "");
    try {
      // The back end opens the save dialog and writes where the user chose.
      const target = await saveText(`${stem}.txt`, item.text);
      if (target) setSaved(target);
    } catch (e) {
      setSaved(errorMessage(e));
    }
  };
  return (
    <Card withBorder data-testid="vision-item" data-state={item.state}>
      <Group align="flex-start" wrap="nowrap">
        {p?.thumbnail ? (
          <Image src={p.thumbnail} w={120} h="auto" radius="sm" alt={p.name} data-testid="vision-thumb" />
        ) : (
          <Paper w={120} h={80} bg="gray.1" />
        )}
        <Stack gap={4} style={{ flex: 1, minWidth: 0 }}>
          <Group justify="space-between" wrap="nowrap">
            <Text fw={500} truncate data-testid="vision-item-name">
              {p?.name ?? item.path}
            </Text>
            <Badge variant="light" color={item.state === "invalid" || item.state === "failed" ? "red" : item.state === "done" ? "teal" : "blue"} data-testid="vision-item-state">
              {t(`vision.states.${item.state}`)}
            </Badge>
          </Group>
          {p && !p.error && (
            <Text size="xs" c="dimmed">
              {p.format} · {p.width}×{p.height}
            </Text>
          )}
          {item.error && (
            <Text size="sm" c="red" data-testid="vision-item-error">
              {item.error}
            </Text>
          )}
          {(item.text || item.state === "running") && (
            <Text size="sm" style={{ whiteSpace: "pre-wrap", maxHeight: 320, overflowY: "auto" }} data-testid="vision-item-text">
              {item.text || "…"}
            </Text>
          )}
          {item.summary && (
            <Text size="xs" c="dimmed" data-testid="vision-item-stats">
              {t("vision.stats", {
                model: item.summary.model,
                images: item.summary.image_tokens,
                tokens: item.summary.stats.output_tokens,
                rate: formatRate(item.summary.stats.tokens_per_second),
                total: formatMs(item.summary.stats.latency_ms),
              })}
            </Text>
          )}
          <Group gap="xs" mt={4}>
            {item.text && item.state !== "running" && (
              <>
                <Button size="xs" variant="default" data-testid="vision-copy" onClick={() => void copy()}>
                  {copied ? t("vision.copied") : t("vision.copy")}
                </Button>
                <Button size="xs" variant="default" data-testid="vision-save" onClick={() => void saveAs()}>
                  {t("vision.save")}
                </Button>
              </>
            )}
            <Button size="xs" variant="subtle" color="gray" disabled={busy} data-testid="vision-remove" onClick={() => onRemove(item.key)}>
              {t("vision.remove")}
            </Button>
          </Group>
          {saved && (
            <Text size="xs" c="dimmed" data-testid="vision-saved">
              {saved}
            </Text>
          )}
        </Stack>
      </Group>
    </Card>
  );
});

const History = memo(function History() {
  const { t } = useTranslation();
  const page = useVisionPage();
  const history = page.data?.history ?? [];
  return (
    <Paper withBorder p="md" data-testid="vision-history">
      <Title order={4} mb="xs">
        {t("vision.history")}
      </Title>
      {history.length === 0 && (
        <Text size="sm" c="dimmed">
          {t("vision.noHistory")}
        </Text>
      )}
      <Stack gap="xs">
        {history.map((d: VisionDescription) => (
          <div key={d.id} data-testid="vision-history-row">
            <Group gap="xs">
              <Text size="sm" fw={500}>
                {d.image_name}
              </Text>
              <Text size="xs" c="dimmed">
                {new Date(d.created_at).toLocaleString()} · {d.model} · sha256 {d.image_sha256.slice(0, 12)}…
              </Text>
              {d.status !== "ok" && (
                <Badge size="xs" color="gray">
                  {d.status}
                </Badge>
              )}
            </Group>
            <Text size="sm" lineClamp={3} style={{ whiteSpace: "pre-wrap" }}>
              {d.text}
            </Text>
          </div>
        ))}
      </Stack>
    </Paper>
  );
});
