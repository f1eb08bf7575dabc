// What a media reference points at: its files (one, or several for a list of images) and captions.
import type { Json, MediaRef } from "../api";
import { api } from "../api";

export interface MediaFile {
  url: string;
  path: string;
  caption: string | null;
}

const str = (v: Json | undefined): string | null => (typeof v === "string" ? v : null);

/** The files of a reference of run `runId`: one for image-file/audio-file/..., several for images/separated. */
export function filesOf(entity: string, project: string, runId: string, ref: MediaRef): MediaFile[] {
  const url = (path: string) => api.fileUrl(entity, project, runId, path);
  if (Array.isArray(ref.filenames)) {
    const captions = Array.isArray(ref.captions) ? ref.captions : [];
    return ref.filenames
      .map((f, i) => (typeof f === "string" ? { url: url(f), path: f, caption: str(captions[i]) } : null))
      .filter((f): f is MediaFile => f !== null);
  }
  const path = str(ref.path);
  return path ? [{ url: url(path), path, caption: str(ref.caption) }] : [];
}

/** The panel kind drawing a reference type. */
export type PanelKind = "image" | "histogram" | "table" | "audio" | "video" | "html" | "file";

export function kindOf(type: string): PanelKind {
  if (type === "image-file" || type === "images/separated" || type === "image") return "image";
  if (type === "histogram") return "histogram";
  if (type === "table-file" || type === "partitioned-table" || type === "joined-table") return "table";
  if (type === "audio-file" || type === "audio") return "audio";
  if (type === "video-file" || type === "videos") return "video";
  if (type === "html-file" || type === "html") return "html";
  return "file";
}
