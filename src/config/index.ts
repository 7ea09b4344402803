// The config module's public face: the settings, where they come from, and the blocks a feature
// declares its own section with (schema.ts explains how).
export { buildConfig, loadConfig, loadSettings, type ConfigSources } from './load-config.js';
export { nearestName } from './nearest-name.js';
export {
  boolean, choice, describeDefault, duration, ENTRY_NAME, integer, isQueryFile, ITEM, list, mapping, path, queryText, records, section, sequence, text, walkSettings,
  type Milliseconds, type Records, type Section, type Setting, type SettingsNode, type ValueOf,
} from './schema.js';
export { SETTINGS, type Config } from './settings.js';
export { currentSettingsTable, renderSettingsTable, replaceSettingsTable } from './settings-table.js';
export { NUMBER_FORMATS, TILE_TYPES, type TileType } from './dashboard-settings.js';
